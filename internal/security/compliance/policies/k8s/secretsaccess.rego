package vigil.controls.rbac_secrets

import data.vigil.lib

metadata := {
	"id": "VGL-K8S-104",
	"title": "Roles should not grant read access to secrets",
	"severity": "medium",
	"rationale": "get, list or watch on secrets reveals every credential in scope, including service account tokens.",
	"remediation": "Remove secrets from the rule, or restrict it with resourceNames to the secrets actually needed.",
	"targets": ["role"],
	"cis": ["5.1.2"],
	"nsa": ["Authentication and authorization: role-based access control"],
	"pss": "",
}

deny contains {"msg": sprintf("rule %d allows %s on secrets", [i, concat(",", sort(verbs))]), "path": sprintf("rules[%d]", [i])} if {
	not startswith(input.metadata.name, "system:")
	input.metadata.name != "cluster-admin"
	not lib.rbac_default
	some i, r in input.object.rules
	some res in r.resources
	res in {"secrets", "*"}
	not r.resourceNames
	verbs := {v | some v in r.verbs; v in {"get", "list", "watch", "*"}}
	count(verbs) > 0
}
