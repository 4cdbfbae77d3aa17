package vigil.controls.tf_eks_control_plane_logs

import data.vigil.lib

metadata := {
	"id": "VGL-TF-002",
	"title": "EKS clusters must send the control plane's audit log to CloudWatch",
	"severity": "medium",
	"rationale": "Without the audit log there is no record of who did what through the Kubernetes API.",
	"remediation": "Set enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"] (module: enabled_log_types / cluster_enabled_log_types).",
	"targets": ["terraform"],
	"cis": [],
	"ciseks": ["2.1.1"],
	"nsa": ["Audit logging and threat detection: logging"],
	"pss": "",
}

eks_module if {
	input.block == "module"
	contains(input.source, "terraform-aws-modules/eks/aws")
}

eks_resource if {
	input.block == "resource"
	input.type == "aws_eks_cluster"
}

# The module's variable was renamed in v21.
module_attr := "enabled_log_types" if "enabled_log_types" in object.keys(input.body)
else := "cluster_enabled_log_types"

deny contains {"msg": "aws_eks_cluster has no enabled_cluster_log_types: the control plane logs nothing", "path": ""} if {
	eks_resource
	not "enabled_cluster_log_types" in object.keys(input.body)
}

deny contains {"msg": sprintf("%s does not include \"audit\"", [attr]), "path": attr} if {
	some attr in ["enabled_cluster_log_types"]
	eks_resource
	missing_audit(input.body[attr])
}

deny contains {"msg": sprintf("%s does not include \"audit\"", [module_attr]), "path": module_attr} if {
	eks_module
	missing_audit(input.body[module_attr])
}

missing_audit(v) if {
	is_array(v)
	not lib_known_contains(v, "audit")
	every x in v { not lib.is_unknown(x) }
}

lib_known_contains(v, s) if s in v

unknown contains {"msg": sprintf("control plane log types depend on %s", [v["$unknown"]]), "path": attr} if {
	some attr in ["enabled_cluster_log_types", "enabled_log_types", "cluster_enabled_log_types"]
	v := input.body[attr]
	lib.is_unknown(v)
	any_eks
}

any_eks if eks_module

any_eks if eks_resource

default applies := false

applies if any_eks
