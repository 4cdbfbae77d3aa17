package vigil.controls.privilege_escalation

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-005",
	"title": "Containers must forbid privilege escalation",
	"severity": "medium",
	"rationale": "Without allowPrivilegeEscalation: false a process can gain more privileges than its parent through setuid binaries.",
	"remediation": "Set securityContext.allowPrivilegeEscalation: false on every container.",
	"targets": ["workload"],
	"cis": ["5.2.6"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "restricted",
}

deny contains {"msg": sprintf("container %q does not set allowPrivilegeEscalation: false", [x.c.name]), "path": concat(".", [x.path, "securityContext.allowPrivilegeEscalation"])} if {
	some x in lib.containers
	object.get(x.c, ["securityContext", "allowPrivilegeEscalation"], true) != false
}
