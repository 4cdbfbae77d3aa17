package vigil.controls.default_namespace

metadata := {
	"id": "VGL-K8S-017",
	"title": "Workloads should not run in the default namespace",
	"severity": "low",
	"rationale": "Namespaces are the unit of RBAC, quotas and network policy; the default namespace usually has none of them.",
	"remediation": "Move the workload into a namespace of its own.",
	"targets": ["workload"],
	"cis": ["5.7.4"],
	"nsa": ["Network separation and hardening: namespaces"],
	"pss": "",
}

deny contains {"msg": "workload runs in the default namespace", "path": "metadata.namespace"} if {
	object.get(input.metadata, "namespace", "default") in {"default", ""}
}
