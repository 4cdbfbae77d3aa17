resource "aws_ebs_volume" "data" {
  availability_zone = "eu-central-1a"
  size              = 100
}

resource "aws_ebs_volume" "logs" {
  availability_zone = "eu-central-1a"
  size              = 50
  encrypted         = var.encrypt_data
}

resource "aws_launch_template" "workers" {
  name_prefix = "workers-"

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 50
      encrypted   = false
    }
  }
}

resource "aws_security_group" "nodes" {
  name   = "nodes"
  vpc_id = module.vpc.vpc_id

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "admin"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.admin_cidrs
  }
}

resource "aws_security_group_rule" "nodeports" {
  type              = "ingress"
  from_port         = 30000
  to_port           = 32767
  protocol          = "tcp"
  cidr_blocks       = ["10.0.0.0/8", "::/0"]
  security_group_id = aws_security_group.nodes.id
}
