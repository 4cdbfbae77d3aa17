package vigil.controls.drop_all_capabilities

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-009",
	"title": "Containers must drop all capabilities",
	"severity": "low",
	"rationale": "Dropping ALL and adding back only what is needed keeps the default capability set from being abused.",
	"remediation": "Set securityContext.capabilities.drop: [\"ALL\"] on every container.",
	"targets": ["workload"],
	"cis": ["5.2.10"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "restricted",
}

deny contains {"msg": sprintf("container %q does not drop ALL capabilities", [x.c.name]), "path": concat(".", [x.path, "securityContext.capabilities.drop"])} if {
	some x in lib.containers
	drops := {upper(c) | some c in object.get(x.c, ["securityContext", "capabilities", "drop"], [])}
	not "ALL" in drops
}
