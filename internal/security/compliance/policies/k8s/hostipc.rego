package vigil.controls.host_ipc

metadata := {
	"id": "VGL-K8S-003",
	"title": "Pods must not share the host's IPC namespace",
	"severity": "high",
	"rationale": "With hostIPC a container can read and write the shared memory of host processes.",
	"remediation": "Remove hostIPC from the pod spec.",
	"targets": ["workload"],
	"cis": ["5.2.4"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "baseline",
}

deny contains {"msg": "pod shares the host IPC namespace", "path": concat(".", [input.specPath, "hostIPC"])} if input.spec.hostIPC == true
