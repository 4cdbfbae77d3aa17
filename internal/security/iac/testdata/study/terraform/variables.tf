variable "region" {
  type    = string
  default = "eu-central-1"
}

variable "encrypt_data" {
  type    = bool
  default = true
}

variable "admin_cidrs" {
  type = list(string)
}
