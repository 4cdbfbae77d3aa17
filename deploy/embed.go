// Package deploy holds the files vigil rolls itself out with: the Helm chart
// (embedded into the binary so `vigil install` needs nothing else), the
// Terraform module for EKS and the pipeline templates.
package deploy

import "embed"

// Chart is the vigil Helm chart, rooted at helm/vigil.
//
//go:embed all:helm/vigil
var Chart embed.FS

// ChartRoot is the chart's directory inside Chart.
const ChartRoot = "helm/vigil"
