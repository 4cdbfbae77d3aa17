package vigil.controls.tf_security_group_world

import data.vigil.lib

metadata := {
	"id": "VGL-TF-005",
	"title": "Security groups must not allow ingress from the whole internet",
	"severity": "high",
	"rationale": "Ingress from 0.0.0.0/0 exposes the nodes' services (SSH, kubelet, NodePorts) to scanning and brute force.",
	"remediation": "Restrict cidr_blocks to known networks or reference another security group; publish services through a load balancer.",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": [],
	"nsa": ["Network separation and hardening: network policies"],
	"pss": "",
}

world := {"0.0.0.0/0", "::/0"}

ports(r) := sprintf("ports %v-%v", [object.get(r, "from_port", "?"), object.get(r, "to_port", "?")])

rules contains [r, sprintf("ingress[%d]", [i])] if {
	input.block == "resource"
	input.type == "aws_security_group"
	some i, r in input.body.ingress
}

rules contains [input.body, ""] if {
	input.block == "resource"
	input.type == "aws_security_group_rule"
	input.body.type == "ingress"
}

join(prefix, attr) := attr if prefix == ""
else := sprintf("%s.%s", [prefix, attr])

deny contains {"msg": sprintf("%s.%s allows ingress from %s (%s)", [input.type, input.name, cidr, ports(r)]), "path": sprintf("%s[%d]", [join(p, attr), j])} if {
	some [r, p] in rules
	some attr in ["cidr_blocks", "ipv6_cidr_blocks"]
	some j, cidr in r[attr]
	cidr in world
}

deny contains {"msg": sprintf("%s.%s allows ingress from %s", [input.type, input.name, input.body[attr]]), "path": attr} if {
	input.block == "resource"
	input.type == "aws_vpc_security_group_ingress_rule"
	some attr in ["cidr_ipv4", "cidr_ipv6"]
	input.body[attr] in world
}

unknown contains {"msg": sprintf("ingress source depends on %s", [v["$unknown"]]), "path": join(p, attr)} if {
	some [r, p] in rules
	some attr in ["cidr_blocks", "ipv6_cidr_blocks"]
	v := r[attr]
	lib.is_unknown(v)
}

default applies := false

applies if count(rules) > 0

applies if {
	input.block == "resource"
	input.type == "aws_vpc_security_group_ingress_rule"
}
