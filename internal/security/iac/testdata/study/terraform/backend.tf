terraform {
  required_version = ">= 1.6"

  backend "s3" {
    bucket  = "acme-terraform-state"
    key     = "eks/prod.tfstate"
    region  = "eu-central-1"
    encrypt = false
  }
}
