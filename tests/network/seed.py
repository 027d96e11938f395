#!/usr/bin/env python3
"""Seeds one Fargate networking scenario into moto server and prints its ids as JSON.

    seed.py MOTO_URL NAME [--option value ...]

Every scenario is the same private-subnet Fargate 1.4.0 service (two subnets in
two AZs, each with its own route table; a task security group and an endpoint
security group; the VPC DNS attributes on), changed in one way by the options.
Used by tests/network.rs and scripts/bench/network-discovery; moto's quirks are
in shared/reference/test-stand-ins.md.
"""
import argparse
import json
import sys

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("moto")
    p.add_argument("name")
    p.add_argument("--endpoints", default="ecr.api,ecr.dkr,s3,logs")
    p.add_argument("--egress", choices=["isolated", "nat", "public"], default="isolated")
    p.add_argument("--private-dns", choices=["on", "off"], default="on")
    p.add_argument("--task-egress-s3", choices=["prefix-list", "none", "anywhere"], default="prefix-list")
    p.add_argument("--endpoint-ingress", choices=["on", "off"], default="on")
    p.add_argument("--s3-route-tables", choices=["all", "first"], default="all")
    p.add_argument("--s3-policy", choices=["full", "restrictive"], default="full")
    p.add_argument("--s3-interface", action="store_true", help="an S3 Interface endpoint instead of the Gateway")
    p.add_argument("--logs", choices=["awslogs", "none"], default="awslogs")
    p.add_argument("--secrets", default="", help="comma list: ssm, secretsmanager")
    p.add_argument("--services", type=int, default=1)
    p.add_argument("--platform-version", default="1.4.0")
    p.add_argument("--image", default=IMAGE)
    p.add_argument("--logs-region", default=REGION, help="awslogs-region of the container's awslogs configuration")
    p.add_argument("--nacl-deny-egress", default="", help="a CIDR the subnets' network ACL denies outbound TCP 443 to (entry 50)")
    a = p.parse_args()

    kw = dict(endpoint_url=a.moto, region_name=REGION, aws_access_key_id="seed", aws_secret_access_key="seed")
    ec2 = boto3.client("ec2", **kw)
    ecs = boto3.client("ecs", **kw)

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets, tables = [], []
    for i, az in enumerate(["us-east-1a", "us-east-1b"]):
        s = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i + 1}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        t = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=t, SubnetId=s)
        subnets.append(s)
        tables.append(t)

    if a.egress in ("nat", "public"):
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        if a.egress == "public":
            for t in tables:
                ec2.create_route(RouteTableId=t, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        else:
            public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.100.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
            public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=public_table, SubnetId=public)
            ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
            for t in tables:
                ec2.create_route(RouteTableId=t, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)

    task_sg = ec2.create_security_group(GroupName=f"{a.name}-task", Description="task", VpcId=vpc)["GroupId"]
    endpoint_sg = ec2.create_security_group(GroupName=f"{a.name}-endpoints", Description="endpoints", VpcId=vpc)["GroupId"]
    # Least-privilege task egress: drop the default allow-all rule.
    ec2.revoke_security_group_egress(
        GroupId=task_sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    egress = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": endpoint_sg}]}]
    s3_list = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{REGION}.s3"]}]
    )["PrefixLists"][0]["PrefixListId"]
    if a.task_egress_s3 == "prefix-list":
        egress.append({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": s3_list}]})
    elif a.task_egress_s3 == "anywhere":
        egress.append({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    ec2.authorize_security_group_egress(GroupId=task_sg, IpPermissions=egress)
    if a.endpoint_ingress == "on":
        ec2.authorize_security_group_ingress(
            GroupId=endpoint_sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": task_sg}]}],
        )

    if a.nacl_deny_egress:
        acl = ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
        )["NetworkAcls"][0]["NetworkAclId"]
        ec2.create_network_acl_entry(
            NetworkAclId=acl, RuleNumber=50, Protocol="6", RuleAction="deny", Egress=True,
            CidrBlock=a.nacl_deny_egress, PortRange={"From": 443, "To": 443},
        )

    endpoints = {}
    for short in [e for e in a.endpoints.split(",") if e]:
        service = f"com.amazonaws.{REGION}.{short}"
        if short == "s3" and not a.s3_interface:
            args = dict(VpcEndpointType="Gateway", VpcId=vpc, ServiceName=service,
                        RouteTableIds=tables if a.s3_route_tables == "all" else tables[:1])
            if a.s3_policy == "restrictive":
                args["PolicyDocument"] = json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                   "Resource": "arn:aws:s3:::my-app-bucket/*"}],
                })
        else:
            args = dict(VpcEndpointType="Interface", VpcId=vpc, ServiceName=service, SubnetIds=subnets,
                        SecurityGroupIds=[endpoint_sg], PrivateDnsEnabled=(a.private_dns == "on"))
        endpoints[short] = ec2.create_vpc_endpoint(**args)["VpcEndpoint"]["VpcEndpointId"]

    container = {"name": "app", "image": a.image, "essential": True, "memory": 512}
    if a.logs == "awslogs":
        container["logConfiguration"] = {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/{a.name}", "awslogs-region": a.logs_region, "awslogs-stream-prefix": "app"}}
    secrets = []
    for kind in [s for s in a.secrets.split(",") if s]:
        if kind == "ssm":
            secrets.append({"name": "PARAM", "valueFrom": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{a.name}/param"})
        else:
            secrets.append({"name": "DB", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{a.name}-db"})
    if secrets:
        container["secrets"] = secrets
    family = f"{a.name}-app"
    task = ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{a.name}-execution", containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]
    cluster = ecs.create_cluster(clusterName=a.name)["cluster"]["clusterName"]
    services = []
    for i in range(a.services):
        name = f"svc-{i}"
        ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=task, desiredCount=1, launchType="FARGATE",
            platformVersion=a.platform_version,
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": subnets, "securityGroups": [task_sg],
                "assignPublicIp": "ENABLED" if a.egress == "public" else "DISABLED"}},
        )
        services.append(name)

    json.dump({"cluster": cluster, "services": services, "vpc": vpc, "subnets": subnets, "route_tables": tables,
               "task_security_group": task_sg, "endpoint_security_group": endpoint_sg, "endpoints": endpoints,
               "s3_prefix_list": s3_list, "task_definition": task, "family": family}, sys.stdout)


if __name__ == "__main__":
    main()
