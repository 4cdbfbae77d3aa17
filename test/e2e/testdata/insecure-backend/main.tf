# The state backend as the study first set it up: the bucket holds the whole state
# (secrets included) unencrypted. `vigil scan iac` must flag it.
terraform {
  backend "s3" {
    bucket  = "study-terraform-state"
    key     = "eks/terraform.tfstate"
    region  = "eu-west-1"
    encrypt = false
  }
}
