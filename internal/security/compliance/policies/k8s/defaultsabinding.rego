package vigil.controls.default_sa_binding

metadata := {
	"id": "VGL-K8S-102",
	"title": "Default service accounts must not be granted roles",
	"severity": "high",
	"rationale": "Every pod that does not name a service account runs as default; a role bound to it is granted to all of them.",
	"remediation": "Bind the role to a dedicated service account and use it only in the workloads that need it.",
	"targets": ["binding"],
	"cis": ["5.1.5"],
	"nsa": ["Pod security: protecting pod service account tokens"],
	"pss": "",
}

deny contains {"msg": sprintf("default service account of namespace %s is bound to %s %s", [ns, input.object.roleRef.kind, input.object.roleRef.name]), "path": sprintf("subjects[%d]", [i])} if {
	some i, s in input.object.subjects
	s.kind == "ServiceAccount"
	s.name == "default"
	ns := object.get(s, "namespace", object.get(input.metadata, "namespace", ""))
}
