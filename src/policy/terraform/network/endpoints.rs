//! VPC endpoints, the resources that associate them with route tables,
//! subnets, security groups and policies, and the routes Gateway endpoints add.

use super::{ENDPOINTS, Mapper, ROUTE_TABLES, SECURITY_GROUPS, SUBNETS, VPCS};
use crate::network::snapshot::{Route, RouteTarget, VpcEndpoint};
use crate::policy::terraform::index::{Got, Instance, key};

impl<'a, 'p> Mapper<'a, 'p> {
    pub(super) fn vpc_endpoints(&mut self) {
        let ix = self.ix;
        for inst in self.instances(ENDPOINTS) {
            let id = self.id_of(inst);
            let vpc_id = self
                .take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS))
                .unwrap_or_default();
            let Some(service_name) =
                self.take(inst, "service_name", ix.string(inst, &key("service_name")))
            else {
                continue;
            };
            let endpoint_type = match ix.string(inst, &key("vpc_endpoint_type")) {
                Got::Value(v) => v,
                Got::Absent => "Gateway".into(),
                Got::Unknown(why) => {
                    self.note(inst, "vpc_endpoint_type", why);
                    continue;
                }
            };
            let interface = endpoint_type == "Interface";
            let state = ix
                .string(inst, &key("state"))
                .value()
                .unwrap_or_else(|| "available".into());
            let private_dns_enabled = if interface {
                let got = ix.boolean(inst, &key("private_dns_enabled"));
                self.take(inst, "private_dns_enabled", got).unwrap_or(false)
            } else {
                false
            };
            let subnet_ids = self.endpoint_list(inst, "subnet_ids", SUBNETS, interface);
            let mut security_group_ids =
                self.endpoint_list(inst, "security_group_ids", SECURITY_GROUPS, false);
            if interface
                && security_group_ids.is_empty()
                && !ix.configured(inst, &key("security_group_ids"))
            {
                // AWS attaches the VPC's default security group.
                security_group_ids.push(self.default_security_group_of(inst, &vpc_id));
            }
            let route_table_ids = self.endpoint_list(inst, "route_table_ids", ROUTE_TABLES, false);
            let policy_document = match ix.string(inst, &key("policy")) {
                Got::Value(p) => Some(p),
                Got::Absent => None,
                // Not set: AWS's default policy allows everything, which blocks nothing.
                Got::Unknown(_) if !ix.configured(inst, &key("policy")) => None,
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "policy",
                        format!("{why}: the endpoint policy is not checked"),
                    );
                    None
                }
            };
            self.s.vpc_endpoints.insert(
                id.clone(),
                VpcEndpoint {
                    id,
                    vpc_id,
                    service_name,
                    endpoint_type,
                    state,
                    private_dns_enabled,
                    subnet_ids,
                    security_group_ids,
                    route_table_ids,
                    policy_document,
                },
            );
        }
    }

    /// An endpoint's list of ids. Unknown and not configured: AWS fills it
    /// (or the associations below do). Unknown and untraceable: a stand-in no
    /// rule matches, so the rules that read it skip the endpoint.
    fn endpoint_list(
        &mut self,
        inst: &Instance,
        attribute: &'static str,
        kinds: &[&str],
        required: bool,
    ) -> Vec<String> {
        let ix = self.ix;
        match ix.references(inst, &key(attribute), kinds) {
            Got::Value(ids) => ids,
            Got::Absent => Vec::new(),
            Got::Unknown(_) if !ix.configured(inst, &key(attribute)) => {
                if required {
                    self.note(inst, attribute, "not set in the configuration");
                }
                Vec::new()
            }
            Got::Unknown(why) => {
                self.note(
                    inst,
                    attribute,
                    format!("{why}: checks that need it skip this endpoint"),
                );
                vec![format!("{}.{attribute}", inst.address)]
            }
        }
    }

    pub(super) fn endpoint_associations(&mut self) {
        let ix = self.ix;
        let kinds: [(&str, &str, &[&str]); 4] = [
            (
                "aws_vpc_endpoint_route_table_association",
                "route_table_id",
                ROUTE_TABLES,
            ),
            ("aws_vpc_endpoint_subnet_association", "subnet_id", SUBNETS),
            (
                "aws_vpc_endpoint_security_group_association",
                "security_group_id",
                SECURITY_GROUPS,
            ),
            ("aws_vpc_endpoint_policy", "policy", &[]),
        ];
        for (kind, attribute, targets) in kinds {
            for inst in self.instances(&[kind]) {
                self.id_of(inst);
                let Some(endpoint) = self.take(
                    inst,
                    "vpc_endpoint_id",
                    ix.reference(inst, &key("vpc_endpoint_id"), ENDPOINTS),
                ) else {
                    continue;
                };
                let value = if attribute == "policy" {
                    ix.string(inst, &key(attribute))
                } else {
                    ix.reference(inst, &key(attribute), targets)
                };
                let Some(value) = self.take(inst, attribute, value) else {
                    continue;
                };
                let Some(e) = self.s.vpc_endpoints.get_mut(&endpoint) else {
                    self.note(
                        inst,
                        "vpc_endpoint_id",
                        format!("endpoint `{endpoint}` is not declared in the plan"),
                    );
                    continue;
                };
                let list = match attribute {
                    "route_table_id" => &mut e.route_table_ids,
                    "subnet_id" => &mut e.subnet_ids,
                    "security_group_id" => &mut e.security_group_ids,
                    _ => {
                        e.policy_document = Some(value);
                        continue;
                    }
                };
                if !list.contains(&value) {
                    list.push(value);
                }
            }
        }
    }

    /// The prefix-list route a Gateway endpoint adds to each of its route tables.
    pub(super) fn gateway_endpoint_routes(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_vpc_endpoint"]) {
            let id = inst.snapshot_id();
            let Some(e) = self.s.vpc_endpoints.get(&id) else {
                continue;
            };
            if e.endpoint_type != "Gateway" {
                continue;
            }
            let Some(prefix_list) = ix.endpoint_prefix_list(inst) else {
                continue;
            };
            for table in e.route_table_ids.clone() {
                if let Some(t) = self.s.route_tables.get_mut(&table)
                    && !t
                        .routes
                        .iter()
                        .any(|r| r.target == RouteTarget::VpcEndpoint(id.clone()))
                {
                    t.routes.push(Route {
                        destination_cidr: None,
                        destination_ipv6_cidr: None,
                        destination_prefix_list: Some(prefix_list.clone()),
                        target: RouteTarget::VpcEndpoint(id.clone()),
                        state: Some("active".into()),
                    });
                }
            }
        }
    }
}
