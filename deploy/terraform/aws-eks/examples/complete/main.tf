# The state lives in S3, encrypted, with S3's native lock file so that two
# pipeline runs never apply at once. Create the bucket (versioning on, public
# access blocked, default encryption with KMS) before the first `terraform init`.
terraform {
  required_version = ">= 1.10.0"

  backend "s3" {
    bucket       = "example-vigil-terraform-state"
    key          = "eks/vigil/terraform.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    kms_key_id   = "alias/terraform-state"
    use_lockfile = true
  }
}

module "eks" {
  source = "../.."

  name               = "vigil-prod"
  region             = "eu-central-1"
  kubernetes_version = "1.34"
  node_min_size      = 2
  node_desired_size  = 3
  node_max_size      = 6
  vigil_values = [yamlencode({
    server = {
      retention = { metrics = "720h", logs = "336h" }
    }
  })]
}

output "kubeconfig_command" {
  value = module.eks.kubeconfig_command
}
