package vigil.controls.cluster_admin_binding

metadata := {
	"id": "VGL-K8S-101",
	"title": "cluster-admin must be bound only where required",
	"severity": "high",
	"rationale": "cluster-admin is unrestricted superuser access to every resource in every namespace.",
	"remediation": "Replace the binding with a Role or ClusterRole limited to the needed verbs and resources; keep cluster-admin for break-glass accounts.",
	"targets": ["binding"],
	"cis": ["5.1.1"],
	"nsa": ["Authentication and authorization: role-based access control"],
	"pss": "",
}

# Bindings the control plane itself creates are expected.
system_subject(s) if startswith(s.name, "system:")

system_subject(s) if {
	s.kind == "ServiceAccount"
	s.namespace == "kube-system"
}

deny contains {"msg": sprintf("%s %s is bound to cluster-admin", [s.kind, subject_name(s)]), "path": sprintf("subjects[%d]", [i])} if {
	input.object.roleRef.kind == "ClusterRole"
	input.object.roleRef.name == "cluster-admin"
	some i, s in input.object.subjects
	not system_subject(s)
}

subject_name(s) := sprintf("%s/%s", [s.namespace, s.name]) if s.namespace
else := s.name
