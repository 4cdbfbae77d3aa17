# Helpers shared by the controls. Kubernetes workload inputs carry the pod
# spec in input.spec and its field path in input.specPath, so one control
# covers Pods, Deployments, CronJobs and the rest alike.
package vigil.lib

# containers: every container, init and ephemeral container of the pod spec
# as {"c": container, "path": its field path, "sc": effective security
# context, "app": false for init and ephemeral ones}, prepared by vigil.
containers := input.containers

# app_containers leaves out init and ephemeral containers (limits, probes).
app_containers := [x | some x in input.containers; x.app]

# sc returns a container's security setting, falling back to the pod's.
sc(x, field, default_value) := object.get(x.sc, field, default_value)

# is_unknown tells values the IaC reader could not resolve (variables, functions).
is_unknown(v) if {
	is_object(v)
	v["$unknown"]
}

system_namespaces := {"kube-system", "kube-public", "kube-node-lease"}

# rbac_default: roles the API server creates and reconciles itself
# (cluster-admin, admin, edit, view, system:*); they matter where bound.
rbac_default if input.metadata.labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
