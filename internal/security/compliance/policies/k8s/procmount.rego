package vigil.controls.proc_mount

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-019",
	"title": "Containers must keep the default /proc mask",
	"severity": "medium",
	"rationale": "An Unmasked /proc exposes kernel interfaces that the runtime normally hides from containers.",
	"remediation": "Remove securityContext.procMount or set it to Default.",
	"targets": ["workload"],
	"cis": [],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "baseline",
}

deny contains {"msg": sprintf("container %q uses procMount %s", [x.c.name, x.c.securityContext.procMount]), "path": concat(".", [x.path, "securityContext.procMount"])} if {
	some x in lib.containers
	x.c.securityContext.procMount != "Default"
}
