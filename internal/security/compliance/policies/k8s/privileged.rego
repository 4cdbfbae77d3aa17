package vigil.controls.privileged

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-001",
	"title": "Containers must not run privileged",
	"severity": "critical",
	"rationale": "A privileged container has every capability and all host devices; escaping to the node is trivial.",
	"remediation": "Remove securityContext.privileged or set it to false. Grant only the specific capability the program needs.",
	"targets": ["workload"],
	"cis": ["5.2.2"],
	"nsa": ["Pod security: non-root containers and rootless container engines"],
	"pss": "baseline",
}

deny contains {"msg": sprintf("container %q runs privileged", [x.c.name]), "path": concat(".", [x.path, "securityContext.privileged"])} if {
	some x in lib.containers
	x.c.securityContext.privileged == true
}
