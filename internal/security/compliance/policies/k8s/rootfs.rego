package vigil.controls.read_only_root_fs

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-013",
	"title": "Containers should use a read-only root file system",
	"severity": "low",
	"rationale": "An immutable root file system stops an intruder from dropping tools or changing binaries in the container.",
	"remediation": "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the program writes.",
	"targets": ["workload"],
	"cis": [],
	"nsa": ["Pod security: immutable container file systems"],
	"pss": "",
}

deny contains {"msg": sprintf("container %q has a writable root file system", [x.c.name]), "path": concat(".", [x.path, "securityContext.readOnlyRootFilesystem"])} if {
	some x in lib.app_containers
	object.get(x.c, ["securityContext", "readOnlyRootFilesystem"], false) != true
}
