package vigil.controls.default_service_account

metadata := {
	"id": "VGL-K8S-015",
	"title": "Workloads must not mount the default service account's token",
	"severity": "medium",
	"rationale": "The default service account is shared by every pod in the namespace; any role bound to it leaks to all of them.",
	"remediation": "Create a dedicated ServiceAccount per workload, or set automountServiceAccountToken: false when the API is not used.",
	"targets": ["workload"],
	"cis": ["5.1.5", "5.1.6"],
	"nsa": ["Pod security: protecting pod service account tokens"],
	"pss": "",
}

deny contains {"msg": "pod mounts the token of the default service account", "path": concat(".", [input.specPath, "serviceAccountName"])} if {
	object.get(input.spec, "serviceAccountName", "default") in {"default", ""}
	object.get(input.spec, "automountServiceAccountToken", true) != false
}
