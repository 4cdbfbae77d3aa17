# Helpers shared by the controls. Kubernetes workload inputs carry the pod
# spec in input.spec and its field path in input.specPath, so one control
# covers Pods, Deployments, CronJobs and the rest alike.
package vigil.lib

containers contains {"c": c, "path": sprintf("%s.%s[%d]", [input.specPath, kind, i])} if {
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some i, c in input.spec[kind]
}

# app_containers leaves out init and ephemeral containers (limits, probes).
app_containers contains {"c": c, "path": sprintf("%s.containers[%d]", [input.specPath, i])} if {
	some i, c in input.spec.containers
}

# sc returns a container's security setting, falling back to the pod's.
sc(x, field, default_value) := object.get(x.c, ["securityContext", field], object.get(input.spec, ["securityContext", field], default_value))

# is_unknown tells values the IaC reader could not resolve (variables, functions).
is_unknown(v) if {
	is_object(v)
	v["$unknown"]
}

system_namespaces := {"kube-system", "kube-public", "kube-node-lease"}

# rbac_default: roles the API server creates and reconciles itself
# (cluster-admin, admin, edit, view, system:*); they matter where bound.
rbac_default if input.metadata.labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
