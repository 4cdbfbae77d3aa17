package vigil.controls.seccomp

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-014",
	"title": "Pods must use the RuntimeDefault or a Localhost seccomp profile",
	"severity": "medium",
	"rationale": "Unconfined containers can call every system call, including the rarely used ones most kernel exploits need.",
	"remediation": "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost with a profile).",
	"targets": ["workload"],
	"cis": ["5.7.2"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "restricted",
}

good := {"RuntimeDefault", "Localhost"}

deny contains {"msg": sprintf("container %q has no RuntimeDefault/Localhost seccomp profile", [x.c.name]), "path": concat(".", [x.path, "securityContext.seccompProfile.type"])} if {
	some x in lib.containers
	not lib.sc(x, "seccompProfile", {}).type in good
}
