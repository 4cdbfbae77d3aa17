package vigil.controls.added_capabilities

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-008",
	"title": "Containers must not add capabilities beyond the baseline set",
	"severity": "medium",
	"rationale": "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE give a container most of root's power over the node.",
	"remediation": "Remove securityContext.capabilities.add entries; only NET_BIND_SERVICE is accepted.",
	"targets": ["workload"],
	"cis": ["5.2.9"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "baseline",
}

# Pod Security Standards: restricted allows adding only NET_BIND_SERVICE.
allowed := {"NET_BIND_SERVICE"}

deny contains {"msg": sprintf("container %q adds capability %s", [x.c.name, cap]), "path": sprintf("%s.securityContext.capabilities.add[%d]", [x.path, i])} if {
	some x in lib.containers
	some i, cap in x.c.securityContext.capabilities.add
	not upper(cap) in allowed
}
