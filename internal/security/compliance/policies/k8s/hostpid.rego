package vigil.controls.host_pid

metadata := {
	"id": "VGL-K8S-002",
	"title": "Pods must not share the host's process namespace",
	"severity": "high",
	"rationale": "With hostPID a container sees and can signal or trace every process on the node.",
	"remediation": "Remove hostPID from the pod spec.",
	"targets": ["workload"],
	"cis": ["5.2.3"],
	"nsa": ["Pod security: hardening container environments"],
	"pss": "baseline",
}

deny contains {"msg": "pod shares the host PID namespace", "path": concat(".", [input.specPath, "hostPID"])} if input.spec.hostPID == true
