package vigil.controls.namespace_network_policy

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-201",
	"title": "Namespaces must have a network policy",
	"severity": "medium",
	"rationale": "Without a NetworkPolicy every pod accepts traffic from every other pod in the cluster.",
	"remediation": "Add a default-deny NetworkPolicy to the namespace and allow the needed flows explicitly.",
	"targets": ["namespace"],
	"cis": ["5.3.2"],
	"nsa": ["Network separation and hardening: network policies"],
	"pss": "",
}

deny contains {"msg": sprintf("namespace %s has no NetworkPolicy", [input.metadata.name]), "path": "metadata.name"} if {
	not input.metadata.name in lib.system_namespaces
	object.get(input, ["context", "networkPolicies"], 0) == 0
}
