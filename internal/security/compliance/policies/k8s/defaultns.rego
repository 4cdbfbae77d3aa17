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

# Manifests without a namespace are placed at deploy time (kubectl -n,
# helm --namespace), so only an explicit or live "default" counts.
deny contains {"msg": "workload runs in the default namespace", "path": "metadata.namespace"} if {
	input.metadata.namespace == "default"
}
