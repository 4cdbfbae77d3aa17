module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"

  cluster_name    = "prod"
  cluster_version = "1.33"

  cluster_endpoint_public_access = true
  cluster_enabled_log_types      = []

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets
}

resource "aws_eks_cluster" "legacy" {
  name     = "legacy"
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids             = module.vpc.private_subnets
    endpoint_public_access = true
    public_access_cidrs    = ["0.0.0.0/0"]
  }
}
