package vigil.controls.namespace_pod_security

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-202",
	"title": "Namespaces should enforce a Pod Security Standard",
	"severity": "low",
	"rationale": "Pod Security Admission rejects pods that break the baseline or restricted profile before they run.",
	"remediation": "Label the namespace pod-security.kubernetes.io/enforce=restricted (or baseline).",
	"targets": ["namespace"],
	"cis": ["5.2.1"],
	"nsa": ["Pod security: pod security enforcement"],
	"pss": "",
}

deny contains {"msg": sprintf("namespace %s has no pod-security.kubernetes.io/enforce label", [input.metadata.name]), "path": "metadata.labels[\"pod-security.kubernetes.io/enforce\"]"} if {
	not input.metadata.name in lib.system_namespaces
	not object.get(input.metadata, ["labels", "pod-security.kubernetes.io/enforce"], "") in {"baseline", "restricted"}
}
