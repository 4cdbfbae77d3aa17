package vigil.controls.tf_eks_public_endpoint

import data.vigil.lib

metadata := {
	"id": "VGL-TF-003",
	"title": "The EKS API endpoint must not be open to the whole internet",
	"severity": "high",
	"rationale": "A public endpoint reachable from 0.0.0.0/0 exposes the API server to credential stuffing and to every future API server vulnerability.",
	"remediation": "Disable endpoint_public_access, or restrict public_access_cidrs to the addresses of your offices and pipelines.",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": ["5.4.2"],
	"nsa": ["Network separation and hardening: control plane hardening"],
	"pss": "",
}

world := {"0.0.0.0/0", "::/0"}

# aws_eks_cluster: public access defaults to on, from 0.0.0.0/0.
deny contains {"msg": msg, "path": path} if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
	some i, vpc in input.body.vpc_config
	object.get(vpc, "endpoint_public_access", true) == true
	[msg, path] := open(vpc, "public_access_cidrs", sprintf("vpc_config[%d]", [i]), "endpoint_public_access")
}

unknown contains {"msg": sprintf("public endpoint access depends on %s", [v["$unknown"]]), "path": sprintf("vpc_config[%d].%s", [i, attr])} if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
	some i, vpc in input.body.vpc_config
	some attr in ["endpoint_public_access", "public_access_cidrs"]
	v := vpc[attr]
	lib.is_unknown(v)
}

# terraform-aws-modules/eks: public access defaults to off; names changed in v21.
module_prefix := "" if "endpoint_public_access" in object.keys(input.body)
else := "cluster_"

deny contains {"msg": msg, "path": path} if {
	input.block == "module"
	contains(input.source, "terraform-aws-modules/eks/aws")
	input.body[sprintf("%sendpoint_public_access", [module_prefix])] == true
	[msg, path] := open(input.body, sprintf("%sendpoint_public_access_cidrs", [module_prefix]), "", sprintf("%sendpoint_public_access", [module_prefix]))
}

unknown contains {"msg": sprintf("public endpoint access depends on %s", [v["$unknown"]]), "path": attr} if {
	input.block == "module"
	contains(input.source, "terraform-aws-modules/eks/aws")
	some attr in ["endpoint_public_access", "endpoint_public_access_cidrs", "cluster_endpoint_public_access", "cluster_endpoint_public_access_cidrs"]
	v := input.body[attr]
	lib.is_unknown(v)
}

join(prefix, attr) := attr if prefix == ""
else := sprintf("%s.%s", [prefix, attr])

open(body, attr, prefix, switch) := [sprintf("public API endpoint is open to the world (%s not set, defaults to 0.0.0.0/0)", [attr]), join(prefix, switch)] if {
	not attr in object.keys(body)
}

open(body, attr, prefix, _) := [sprintf("public API endpoint is open to %s", [cidr]), sprintf("%s[%d]", [join(prefix, attr), j])] if {
	some j, cidr in body[attr]
	cidr in world
}

default applies := false

applies if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
}

applies if {
	input.block == "module"
	contains(input.source, "terraform-aws-modules/eks/aws")
}
