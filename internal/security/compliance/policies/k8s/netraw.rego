package vigil.controls.net_raw

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-007",
	"title": "Containers must drop NET_RAW",
	"severity": "medium",
	"rationale": "NET_RAW, granted by default by most runtimes, allows spoofed packets and ARP/DNS attacks on neighbours.",
	"remediation": "Add NET_RAW (or ALL) to securityContext.capabilities.drop.",
	"targets": ["workload"],
	"cis": ["5.2.8"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "restricted",
}

deny contains {"msg": sprintf("container %q keeps NET_RAW", [x.c.name]), "path": concat(".", [x.path, "securityContext.capabilities.drop"])} if {
	some x in lib.containers
	drops := {upper(c) | some c in object.get(x.c, ["securityContext", "capabilities", "drop"], [])}
	not "ALL" in drops
	not "NET_RAW" in drops
}
