package vigil.controls.rbac_wildcards

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-103",
	"title": "Roles should not use wildcards",
	"severity": "medium",
	"rationale": "A * in verbs, resources or API groups also grants everything added to the API later.",
	"remediation": "List the verbs, resources and API groups explicitly.",
	"targets": ["role"],
	"cis": ["5.1.3"],
	"nsa": ["Authentication and authorization: role-based access control"],
	"pss": "",
}

deny contains {"msg": sprintf("rule %d uses * in %s", [i, field]), "path": sprintf("rules[%d].%s", [i, field])} if {
	not startswith(input.metadata.name, "system:")
	input.metadata.name != "cluster-admin"
	not lib.rbac_default
	some i, r in input.object.rules
	some field in ["verbs", "resources", "apiGroups"]
	"*" in object.get(r, field, [])
}
