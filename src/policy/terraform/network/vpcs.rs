//! VPCs (with their DNS attributes), DHCP options and subnets.

use super::{Mapper, SUBNETS, VPCS};
use crate::network::snapshot::{Subnet, Vpc};
use crate::policy::terraform::index::{Got, key, vpc_default};

impl<'a, 'p> Mapper<'a, 'p> {
    pub(super) fn vpcs(&mut self) {
        for inst in self.instances(VPCS) {
            let id = self.id_of(inst);
            let ix = self.ix;
            let cidr = self.take(inst, "cidr_block", ix.string(inst, &key("cidr_block")));
            let managed = !inst.data;
            let default_vpc = inst.resource_type == "aws_default_vpc";
            let enable_dns_support = match ix.boolean(inst, &key("enable_dns_support")) {
                Got::Absent if managed => Some(true),
                got => self.take(inst, "enable_dns_support", got),
            };
            let enable_dns_hostnames = match ix.boolean(inst, &key("enable_dns_hostnames")) {
                Got::Absent if managed => Some(default_vpc),
                got => self.take(inst, "enable_dns_hostnames", got),
            };
            let dhcp_options_id = match ix.string(inst, &key("dhcp_options_id")) {
                Got::Value(v) => Some(v),
                _ => None,
            };
            self.s.vpcs.insert(
                id.clone(),
                Vpc {
                    id,
                    cidr_blocks: cidr.into_iter().collect(),
                    enable_dns_support,
                    enable_dns_hostnames,
                    dhcp_options_id,
                    domain_name_servers: Vec::new(),
                },
            );
        }
    }

    pub(super) fn dhcp_options(&mut self) {
        let ix = self.ix;
        for assoc in self.instances(&["aws_vpc_dhcp_options_association"]) {
            let vpc = self.take(assoc, "vpc_id", ix.reference(assoc, &key("vpc_id"), VPCS));
            let options = self.take(
                assoc,
                "dhcp_options_id",
                ix.reference(assoc, &key("dhcp_options_id"), &["aws_vpc_dhcp_options"]),
            );
            let (Some(vpc), Some(options)) = (vpc, options) else {
                continue;
            };
            let servers = match ix.by_snapshot_id(&options) {
                Some(o) => self
                    .take(
                        o,
                        "domain_name_servers",
                        ix.strings(o, &key("domain_name_servers")),
                    )
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            if let Some(v) = self.s.vpcs.get_mut(&vpc) {
                v.dhcp_options_id = Some(options);
                v.domain_name_servers = servers;
            }
        }
    }

    pub(super) fn subnets(&mut self) {
        let ix = self.ix;
        for inst in self.instances(SUBNETS) {
            let id = self.id_of(inst);
            let vpc_id = self
                .take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS))
                .unwrap_or_default();
            let availability_zone = self
                .take(
                    inst,
                    "availability_zone",
                    ix.string(inst, &key("availability_zone")),
                )
                .unwrap_or_default();
            let cidr_block = self.take(inst, "cidr_block", ix.string(inst, &key("cidr_block")));
            // Defaults of a subnet this plan creates (the provider's): false.
            let managed = !inst.data;
            let mut flag = |name: &str| match ix.boolean(inst, &key(name)) {
                Got::Absent if managed => Some(false),
                got => self.take(inst, name, got),
            };
            let ipv6_native = flag("ipv6_native");
            let assign_ipv6_address_on_creation = flag("assign_ipv6_address_on_creation");
            let enable_dns64 = flag("enable_dns64");
            // Often computed from the VPC's Amazon-provided block (known after
            // apply): no rule reads the CIDR itself, so an unknown one is not noted.
            let ipv6_cidr_blocks = ix
                .string(inst, &key("ipv6_cidr_block"))
                .value()
                .into_iter()
                .collect();
            self.s.subnets.insert(
                id.clone(),
                Subnet {
                    id,
                    vpc_id,
                    availability_zone,
                    cidr_block,
                    ipv6_native,
                    ipv6_cidr_blocks,
                    assign_ipv6_address_on_creation,
                    enable_dns64,
                },
            );
        }
    }

    /// The VPC whose default resource `attr` is `id`.
    pub(super) fn vpc_owning(&self, id: &str, attr: &str) -> Option<String> {
        self.instances(VPCS)
            .into_iter()
            .find(|v| vpc_default(v, attr) == id)
            .map(|v| v.snapshot_id())
    }
}
