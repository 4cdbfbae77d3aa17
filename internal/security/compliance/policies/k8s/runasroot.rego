package vigil.controls.run_as_root

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-006",
	"title": "Containers must run as a non-root user",
	"severity": "high",
	"rationale": "A process running as UID 0 keeps root's powers over files and, after an escape, over the node.",
	"remediation": "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod or on every container; build images with a non-root USER.",
	"targets": ["workload"],
	"cis": ["5.2.7"],
	"nsa": ["Pod security: non-root containers and rootless container engines"],
	"pss": "restricted",
}

deny contains {"msg": sprintf("container %q runs as UID 0", [x.c.name]), "path": root_path(x)} if {
	some x in lib.containers
	lib.sc(x, "runAsUser", -1) == 0
}

deny contains {"msg": sprintf("container %q may run as root: runAsNonRoot is not true", [x.c.name]), "path": concat(".", [x.path, "securityContext.runAsNonRoot"])} if {
	some x in lib.containers
	lib.sc(x, "runAsUser", -1) != 0
	lib.sc(x, "runAsNonRoot", false) != true
}

root_path(x) := concat(".", [x.path, "securityContext.runAsUser"]) if x.c.securityContext.runAsUser == 0
else := concat(".", [input.specPath, "securityContext.runAsUser"])
