package vigil.controls.workload_cluster_admin

metadata := {
	"id": "VGL-K8S-018",
	"title": "Workloads must not run with a cluster-admin service account",
	"severity": "critical",
	"rationale": "Anyone who gets code execution in the pod owns the whole cluster through the mounted token.",
	"remediation": "Bind the service account to a Role with only the verbs and resources it needs; remove the cluster-admin binding.",
	"targets": ["workload"],
	"cis": ["5.1.1"],
	"nsa": ["Authentication and authorization: role-based access control"],
	"pss": "",
}

# input.context.clusterAdminServiceAccount is filled in from the cluster's bindings.
deny contains {"msg": sprintf("service account %q is bound to cluster-admin (%s)", [object.get(input.spec, "serviceAccountName", "default"), input.context.clusterAdminBinding]), "path": concat(".", [input.specPath, "serviceAccountName"])} if {
	input.context.clusterAdminServiceAccount == true
}
