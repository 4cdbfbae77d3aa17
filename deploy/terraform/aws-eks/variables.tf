variable "name" {
  description = "Name of the cluster and prefix of every resource."
  type        = string
  default     = "vigil"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-central-1"
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.34"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into three public and three private subnets."
  type        = string
  default     = "10.20.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper) instead of one per availability zone."
  type        = bool
  default     = false
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  description = "Smallest number of nodes."
  type        = number
  default     = 2
}

variable "node_desired_size" {
  description = "Desired number of nodes."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Largest number of nodes."
  type        = number
  default     = 6
}

variable "node_disk_size" {
  description = "Root volume size of each node in GiB."
  type        = number
  default     = 50
}

variable "log_retention_days" {
  description = "Retention of the control-plane logs in CloudWatch."
  type        = number
  default     = 365
}

variable "install_vigil" {
  description = "Install vigil into the cluster with Helm."
  type        = bool
  default     = true
}

variable "vigil_chart" {
  description = "Path or URL of the vigil Helm chart."
  type        = string
  default     = "../../helm/vigil"
}

variable "vigil_values" {
  description = "Extra values for the vigil chart (YAML documents)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
