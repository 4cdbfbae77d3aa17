package vigil.controls.host_network

metadata := {
	"id": "VGL-K8S-004",
	"title": "Pods must not use the host network",
	"severity": "high",
	"rationale": "With hostNetwork a container can listen on node ports, sniff node traffic and bypass network policies.",
	"remediation": "Remove hostNetwork from the pod spec; expose the workload through a Service.",
	"targets": ["workload"],
	"cis": ["5.2.5"],
	"nsa": ["Network separation and hardening: network policies"],
	"pss": "baseline",
}

deny contains {"msg": "pod uses the host network", "path": concat(".", [input.specPath, "hostNetwork"])} if input.spec.hostNetwork == true
