/**
 * Terraform written by others, each with the verdict every rule it touches should give: the
 * examples of the AWS provider's documentation (hashicorp/terraform-provider-aws
 * website/docs/r/*.html.markdown and examples/), the test cases of KICS (Checkmarx/kics
 * assets/queries/terraform/aws/QUERY/test/*.tf) and of checkov (bridgecrewio/checkov), and
 * terraform-aws-modules. The text is the published text; where something had to be added for it to
 * stand alone (a declaration the snippet leaves out), `changed` says what.
 *
 * `verdicts[rule]` lists the addresses the rule fails in that example; every other resource of the
 * rule's types in it passes. test/policy/outside-examples.test.ts runs them all and fails when a
 * rule of src/policy/rules.ts has no example here.
 */
export interface OutsideExample {
  /** Where the Terraform was taken from: repository, file, the commit read, and which example of the file. */
  source: {repo: string; path: string; commit?: string; section?: string}
  /** What was added so the snippet stands alone, when anything was. */
  changed?: string
  files: Record<string, string>
  /** --var values, for variables the example declares without a default. */
  vars?: string[]
  /** Audit as a protected (production) environment. */
  protected?: boolean
  verdicts: Record<string, string[]>
}

const PROVIDER = 'hashicorp/terraform-provider-aws'
const KICS = 'Checkmarx/kics'
/** KICS cloudwatch_log_group_not_encrypted/test/negative.tf, audited twice: outside and inside production. */
const KICS_LOG_GROUP_NEGATIVE = `resource "aws_cloudwatch_log_group" "negative1" {
  name = "Yada"

  tags = {
    Environment = "production"
    Application = "serviceA"
  }

  retention_in_days = 1
  kms_key_id = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}
`

export const OUTSIDE_EXAMPLES: OutsideExample[] = [
  // EC2: launch templates, instances, volumes
  {
    source: {repo: PROVIDER, path: 'website/docs/r/launch_template.html.markdown', commit: '00a35305dc1b297a6fcdecdfbba33f1e63c3da39', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_launch_template" "example" {
  name = "example"

  block_device_mappings {
    device_name = "/dev/sdf"

    ebs {
      volume_size = 20
    }
  }

  capacity_reservation_specification {
    capacity_reservation_preference = "open"
  }

  cpu_options {
    core_count       = 4
    threads_per_core = 2
  }

  credit_specification {
    cpu_credits = "standard"
  }

  disable_api_stop        = true
  disable_api_termination = true

  ebs_optimized = true

  iam_instance_profile {
    name = "test"
  }

  image_id = "ami-test"

  instance_initiated_shutdown_behavior = "terminate"

  instance_market_options {
    market_type = "spot"
  }

  instance_type = "t2.micro"

  kernel_id = "test"

  key_name = "test"

  license_specification {
    license_configuration_arn = "arn:aws:license-manager:eu-west-1:123456789012:license-configuration:lic-0123456789abcdef0123456789abcdef"
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }

  monitoring {
    enabled = true
  }

  network_performance_options {
    bandwidth_weighting = "vpc-1"
  }

  network_interfaces {
    associate_public_ip_address = true
  }

  placement {
    availability_zone = "us-west-2a"
  }

  ram_disk_id = "test"

  vpc_security_group_ids = ["sg-12345678"]

  tag_specifications {
    resource_type = "instance"

    tags = {
      Name = "test"
    }
  }

  user_data = filebase64("\${path.module}/example.sh")
}
`,
    },
    verdicts: {
      INFRA_EBS_LAUNCH_TEMPLATE_ENCRYPTED: ['aws_launch_template.example'],
      INFRA_LAUNCH_TEMPLATE_NO_PUBLIC_IP: ['aws_launch_template.example'],
      INFRA_INSTANCE_IMDSV2: [],
      INFRA_NO_KEY_PAIR: ['aws_launch_template.example'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/instance.html.markdown', commit: '00d98e75afb601c41dad4ff0bdc8398e9910f5b7', section: 'CPU options example'},
    files: {
      'main.tf': `resource "aws_vpc" "example" {
  cidr_block = "172.16.0.0/16"

  tags = {
    Name = "tf-example"
  }
}

resource "aws_subnet" "example" {
  vpc_id            = aws_vpc.example.id
  cidr_block        = "172.16.10.0/24"
  availability_zone = "us-east-2a"

  tags = {
    Name = "tf-example"
  }
}

data "aws_ami" "amzn-linux-2023-ami" {
  most_recent = true
  owners      = ["amazon"]

  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-x86_64"]
  }
}

resource "aws_instance" "example" {
  ami           = data.aws_ami.amzn-linux-2023-ami.id
  instance_type = "c6a.2xlarge"
  subnet_id     = aws_subnet.example.id

  cpu_options {
    core_count       = 2
    threads_per_core = 2
  }

  tags = {
    Name = "tf-example"
  }
}
`,
    },
    verdicts: {
      INFRA_EBS_INSTANCE_ENCRYPTED: ['aws_instance.example'],
      INFRA_INSTANCE_NO_PUBLIC_IP: [],
      INFRA_INSTANCE_IMDSV2: ['aws_instance.example'],
      INFRA_NO_KEY_PAIR: [],
      INFRA_SUBNET_NO_PUBLIC_IP: [],
      INFRA_PUBLIC_SUBNET_NAT_ONLY: [],
      INFRA_VPC_FLOW_LOGS: ['aws_vpc.example'],
      INFRA_DEFAULT_SG_CLOSED: ['aws_vpc.example'],
    },
  },
  {
    // The route to the internet gateway is on the VPC's main route table, which serves the subnet: it is public.
    source: {repo: PROVIDER, path: 'examples/two-tier/main.tf', commit: '108f85fd2bfcd9e85ed93fddb752c5cc10dba1ff'},
    changed: 'variables.tf of the same example (commit 1bf14ce2417cb8628a750634bac3dc28975387c4) added beside it; key_name and public_key_path have no default, so they are reported not evaluated',
    files: {
      'variables.tf': `variable "public_key_path" {
  description = <<DESCRIPTION
Path to the SSH public key to be used for authentication.
Ensure this keypair is added to your local SSH agent so provisioners can
connect.

Example: ~/.ssh/terraform.pub
DESCRIPTION
}

variable "key_name" {
  description = "Desired name of AWS key pair"
}

variable "aws_region" {
  description = "AWS region to launch servers."
  default     = "us-west-2"
}

# Ubuntu Bionic 18.04 LTS (x64)
variable "aws_amis" {
  default = {
    eu-west-1 = "ami-0c259a97cbf621daf"
    us-east-1 = "ami-04751c628226b9b59"
    us-west-1 = "ami-0558dde970ca91ee5"
    us-west-2 = "ami-0bdef2eb518663879"
  }
}
`,
      'main.tf': `terraform {
  required_version = ">= 0.12"
}

provider "aws" {
  region = var.aws_region
}

# Create a VPC to launch our instances into
resource "aws_vpc" "default" {
  cidr_block = "10.0.0.0/16"
}

# Create an internet gateway to give our subnet access to the outside world
resource "aws_internet_gateway" "default" {
  vpc_id = aws_vpc.default.id
}

# Grant the VPC internet access on its main route table
resource "aws_route" "internet_access" {
  route_table_id         = aws_vpc.default.main_route_table_id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.default.id
}

# Create a subnet to launch our instances into
resource "aws_subnet" "default" {
  vpc_id                  = aws_vpc.default.id
  cidr_block              = "10.0.1.0/24"
  map_public_ip_on_launch = true
}

# A security group for the ELB so it is accessible via the web
resource "aws_security_group" "elb" {
  name        = "terraform_example_elb"
  description = "Used in the terraform"
  vpc_id      = aws_vpc.default.id

  # HTTP access from anywhere
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # outbound internet access
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# Our default security group to access
# the instances over SSH and HTTP
resource "aws_security_group" "default" {
  name        = "terraform_example"
  description = "Used in the terraform"
  vpc_id      = aws_vpc.default.id

  # SSH access from anywhere
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # HTTP access from the VPC
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }

  # outbound internet access
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_elb" "web" {
  name = "terraform-example-elb"

  subnets         = [aws_subnet.default.id]
  security_groups = [aws_security_group.elb.id]
  instances       = [aws_instance.web.id]

  listener {
    instance_port     = 80
    instance_protocol = "http"
    lb_port           = 80
    lb_protocol       = "http"
  }
}

resource "aws_key_pair" "auth" {
  key_name   = var.key_name
  public_key = file(var.public_key_path)
}

resource "aws_instance" "web" {
  # The connection block tells our provisioner how to
  # communicate with the resource (instance)
  connection {
    type = "ssh"
    # The default username for our AMI
    user = "ubuntu"
    host = self.public_ip
    # The connection will use the local SSH agent for authentication.
  }

  instance_type = "t2.micro"

  # Lookup the correct AMI based on the region
  # we specified
  ami = var.aws_amis[var.aws_region]

  # The name of our SSH keypair we created above.
  key_name = aws_key_pair.auth.id

  # Our Security group to allow HTTP and SSH access
  vpc_security_group_ids = [aws_security_group.default.id]

  # We're going to launch into the same subnet as our ELB. In a production
  # environment it's more common to have a separate private subnet for
  # backend instances.
  subnet_id = aws_subnet.default.id

  # Force IMDSv2.
  metadata_options {
    http_tokens = "required"
  }

  # We run a remote provisioner on the instance after creating it.
  # In this case, we just install nginx and start it. By default,
  # this should be on port 80
  provisioner "remote-exec" {
    inline = [
      "sudo apt-get -y update",
      "sudo apt-get -y install nginx",
      "sudo service nginx start",
    ]
  }
}
`,
    },
    verdicts: {
      INFRA_SUBNET_NO_PUBLIC_IP: ['aws_subnet.default'],
      INFRA_PUBLIC_SUBNET_NAT_ONLY: ['aws_subnet.default'],
      INFRA_SG_NO_WORLD_INGRESS: ['aws_security_group.default', 'aws_security_group.elb'],
      INFRA_SG_NO_SSH: ['aws_security_group.default'],
      INFRA_SG_NO_RDP: [],
      INFRA_INSTANCE_IMDSV2: [],
      INFRA_INSTANCE_NO_PUBLIC_IP: [],
      INFRA_NO_KEY_PAIR: ['aws_instance.web'],
      INFRA_VPC_FLOW_LOGS: ['aws_vpc.default'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/launch_configuration.html.markdown', section: 'Example Usage'},
    changed: 'the AMI from a variable with a default instead of data.aws_ami',
    files: {
      'main.tf': `variable "ami" { default = "ami-0123456789abcdef0" }
resource "aws_launch_configuration" "as_conf" {
  name          = "web_config"
  image_id      = var.ami
  instance_type = "t2.micro"
}
`,
    },
    verdicts: {INFRA_EBS_INSTANCE_ENCRYPTED: ['aws_launch_configuration.as_conf'], INFRA_INSTANCE_IMDSV2: ['aws_launch_configuration.as_conf'], INFRA_INSTANCE_NO_PUBLIC_IP: [], INFRA_NO_KEY_PAIR: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/ebs_volume.html.markdown', commit: '0964ed39dadd350ec504a9535b4f507e649153d9', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_ebs_volume" "example" {
  availability_zone = "us-west-2a"
  size              = 40

  tags = {
    Name = "HelloWorld"
  }
}
`,
    },
    verdicts: {INFRA_EBS_VOLUME_ENCRYPTED: ['aws_ebs_volume.example']},
  },

  // Security groups
  {
    source: {repo: PROVIDER, path: 'website/docs/r/security_group.html.markdown', commit: '0148137dc6fb802b97b74036846777ab15c0f9ad', section: 'Basic Usage'},
    files: {
      'main.tf': `resource "aws_security_group" "allow_tls" {
  name        = "allow_tls"
  description = "Allow TLS inbound traffic"
  vpc_id      = aws_vpc.main.id

  ingress {
    description      = "TLS from VPC"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = [aws_vpc.main.cidr_block]
    ipv6_cidr_blocks = [aws_vpc.main.ipv6_cidr_block]
  }

  egress {
    from_port        = 0
    to_port          = 0
    protocol         = "-1"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  tags = {
    Name = "allow_tls"
  }
}
`,
    },
    verdicts: {INFRA_SG_NO_WORLD_INGRESS: [], INFRA_SG_NO_SSH: [], INFRA_SG_NO_RDP: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/remote_desktop_port_open/test/positive.tf', commit: '1bf22d1de000766de46949a231a04055f772e52d'},
    files: {
      'main.tf': `resource "aws_security_group" "rdp_positive_tcp_1" {
  name        = "rdp_positive_tcp_1"
  description = "Gets the remote desktop port open with the tcp protocol"

  ingress {
    description = "Remote desktop port open"
    from_port   = 3380
    to_port     = 3450
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "rdp_positive_tcp_2" {
  name        = "rdp_positive_tcp_2"
  description = "Gets the remote desktop port open with the tcp protocol"

  ingress {
    description = "Remote desktop port open"
    from_port   = 3381
    to_port     = 3445
    protocol    = "tcp"
    cidr_blocks = ["1.0.0.0/0"]
  }

  ingress {
    description = "Remote desktop port open"
    from_port   = 3000
    to_port     = 4000
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`,
    },
    verdicts: {
      INFRA_SG_NO_RDP: ['aws_security_group.rdp_positive_tcp_1', 'aws_security_group.rdp_positive_tcp_2'],
      INFRA_SG_NO_SSH: [],
      INFRA_SG_NO_WORLD_INGRESS: ['aws_security_group.rdp_positive_tcp_1', 'aws_security_group.rdp_positive_tcp_2'],
    },
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/remote_desktop_port_open/test/negative.tf', commit: '87fd65492f1be406fac444d2b8290fa780abd19f'},
    files: {
      'main.tf': `#this code is a correct code for which the query should not find any result
resource "aws_security_group" "negative_rdp" {
  name        = "Dont open remote desktop port"
  description = "Doesn't enable the remote desktop port"

}`,
    },
    verdicts: {INFRA_SG_NO_RDP: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/vpc_security_group_ingress_rule.html.markdown', section: 'Example Usage'},
    changed: 'the group it names declared',
    files: {
      'main.tf': `resource "aws_security_group" "example" { name = "example" }
resource "aws_vpc_security_group_ingress_rule" "example" {
  security_group_id = aws_security_group.example.id

  cidr_ipv4   = "10.0.0.0/8"
  from_port   = 80
  ip_protocol = "tcp"
  to_port     = 80
}
`,
    },
    verdicts: {INFRA_SG_NO_WORLD_INGRESS: [], INFRA_SG_NO_SSH: [], INFRA_SG_NO_RDP: []},
  },
  {
    // The provider's own example gives the default group AWS's default rules under management: still rules.
    source: {repo: PROVIDER, path: 'website/docs/r/default_security_group.html.markdown', commit: '02910eecbfa1411d578bf5491f9c7b448a93d237', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_vpc" "mainvpc" {
  cidr_block = "10.1.0.0/16"
}

resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.mainvpc.id

  ingress {
    protocol  = -1
    self      = true
    from_port = 0
    to_port   = 0
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`,
    },
    // self = true on all protocols lets members of the group reach each other's port 22: INFRA_SG_NO_SSH refuses any source.
    verdicts: {INFRA_DEFAULT_SG_CLOSED: ['aws_vpc.mainvpc'], INFRA_SG_NO_WORLD_INGRESS: [], INFRA_SG_NO_SSH: ['aws_default_security_group.default']},
  },
  {
    // aws_default_security_group with no rules: Terraform adopts the group and removes AWS's default rules.
    source: {repo: KICS, path: 'assets/queries/terraform/aws/vpc_default_security_group_accepts_all_traffic/test/negative.tf', commit: '142ede7e64b02e21e9f54dd4b68fa2f6c9dcda7c'},
    files: {
      'main.tf': `resource "aws_vpc" "mainvpc2" {
  cidr_block = "10.1.0.0/16"
}

resource "aws_default_security_group" "default2" {
  vpc_id = aws_vpc.mainvpc2.id
}
`,
    },
    verdicts: {INFRA_DEFAULT_SG_CLOSED: [], INFRA_VPC_FLOW_LOGS: ['aws_vpc.mainvpc2']},
  },
  {
    // The adopted default VPC keeps its default security group's rules and has no flow logs.
    source: {repo: PROVIDER, path: 'website/docs/r/default_vpc.html.markdown', commit: '0dcb01e283b8fb7754bae95e81dc3eb9795dea0a', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_default_vpc" "default" {
  tags = {
    Name = "Default VPC"
  }
}
`,
    },
    verdicts: {INFRA_VPC_FLOW_LOGS: ['aws_default_vpc.default'], INFRA_DEFAULT_SG_CLOSED: ['aws_default_vpc.default']},
  },

  // Databases: RDS, Aurora, DocumentDB, Neptune
  {
    source: {repo: PROVIDER, path: 'website/docs/r/db_instance.html.markdown', commit: '0130d51a023089f30aa9082530b4bfe08980278a', section: 'Basic Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_db_instance" "default" {
  allocated_storage    = 10
  db_name              = "mydb"
  engine               = "mysql"
  engine_version       = "8.0"
  instance_class       = "db.t3.micro"
  username             = "foo"
  password             = "foobarbaz"
  parameter_group_name = "default.mysql8.0"
  skip_final_snapshot  = true
}
`,
    },
    verdicts: {
      INFRA_RDS_ENCRYPTED: ['aws_db_instance.default'],
      INFRA_RDS_PASSWORD_MANAGED: ['aws_db_instance.default'],
      INFRA_RDS_PRIVATE: [],
      INFRA_RDS_BACKUPS: ['aws_db_instance.default'],
      INFRA_RDS_DELETION_PROTECTION: ['aws_db_instance.default'],
      INFRA_RDS_MULTI_AZ: ['aws_db_instance.default'],
      INFRA_RDS_IAM_AUTH: ['aws_db_instance.default'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/db_instance.html.markdown', commit: '0130d51a023089f30aa9082530b4bfe08980278a', section: 'Managed Master Passwords via Secrets Manager, default KMS Key'},
    files: {
      'main.tf': `resource "aws_db_instance" "default" {
  allocated_storage           = 10
  db_name                     = "mydb"
  engine                      = "mysql"
  engine_version              = "8.0"
  instance_class              = "db.t3.micro"
  manage_master_user_password = true
  username                    = "foo"
  parameter_group_name        = "default.mysql8.0"
}
`,
    },
    verdicts: {INFRA_RDS_PASSWORD_MANAGED: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster.html.markdown', commit: '000a04085419aa3e7d1ba8f014dc4a5ab66e916f', section: 'Aurora MySQL 2.x (MySQL 5.7)'},
    protected: true,
    files: {
      'main.tf': `resource "aws_rds_cluster" "default" {
  cluster_identifier      = "aurora-cluster-demo"
  engine                  = "aurora-mysql"
  engine_version          = "5.7.mysql_aurora.2.03.2"
  availability_zones      = ["us-west-2a", "us-west-2b", "us-west-2c"]
  database_name           = "mydb"
  master_username         = "foo"
  master_password         = "bar"
  backup_retention_period = 5
  preferred_backup_window = "07:00-09:00"
}
`,
    },
    verdicts: {
      INFRA_RDS_ENCRYPTED: ['aws_rds_cluster.default'],
      INFRA_RDS_PASSWORD_MANAGED: ['aws_rds_cluster.default'],
      INFRA_RDS_BACKUPS: ['aws_rds_cluster.default'],
      INFRA_RDS_DELETION_PROTECTION: ['aws_rds_cluster.default'],
      // availability_zones says where instances may go; the cluster has none to fail over to.
      INFRA_RDS_MULTI_AZ: ['aws_rds_cluster.default'],
      INFRA_RDS_IAM_AUTH: ['aws_rds_cluster.default'],
    },
  },
  {
    // A Multi-AZ DB cluster always runs a writer and two readers in three AZs.
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster.html.markdown', commit: '000a04085419aa3e7d1ba8f014dc4a5ab66e916f', section: 'RDS Multi-AZ Cluster'},
    protected: true,
    files: {
      'main.tf': `resource "aws_rds_cluster" "example" {
  cluster_identifier        = "example"
  availability_zones        = ["us-west-2a", "us-west-2b", "us-west-2c"]
  engine                    = "mysql"
  db_cluster_instance_class = "db.r6gd.xlarge"
  storage_type              = "io1"
  allocated_storage         = 100
  iops                      = 1000
  master_username           = "test"
  master_password           = "mustbeeightcharaters"
}
`,
    },
    verdicts: {INFRA_RDS_MULTI_AZ: [], INFRA_RDS_PASSWORD_MANAGED: ['aws_rds_cluster.example']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster.html.markdown', commit: '000a04085419aa3e7d1ba8f014dc4a5ab66e916f', section: 'RDS Serverless v2 Cluster'},
    protected: true,
    files: {
      'main.tf': `resource "aws_rds_cluster" "example" {
  cluster_identifier = "example"
  engine             = "aurora-postgresql"
  engine_mode        = "provisioned"
  engine_version     = "13.6"
  database_name      = "test"
  master_username    = "test"
  master_password    = "must_be_eight_characters"

  serverlessv2_scaling_configuration {
    max_capacity = 1.0
    min_capacity = 0.5
  }
}

resource "aws_rds_cluster_instance" "example" {
  cluster_identifier = aws_rds_cluster.example.id
  instance_class     = "db.serverless"
  engine             = aws_rds_cluster.example.engine
  engine_version     = aws_rds_cluster.example.engine_version
}
`,
    },
    verdicts: {INFRA_RDS_MULTI_AZ: ['aws_rds_cluster.example'], INFRA_RDS_PRIVATE: [], INFRA_RDS_ENCRYPTED: ['aws_rds_cluster.example']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster.html.markdown', commit: '000a04085419aa3e7d1ba8f014dc4a5ab66e916f', section: 'RDS/Aurora Managed Master Passwords via Secrets Manager, default KMS Key'},
    files: {
      'main.tf': `resource "aws_rds_cluster" "test" {
  cluster_identifier          = "example"
  database_name               = "test"
  manage_master_user_password = true
  master_username             = "test"
}
`,
    },
    verdicts: {INFRA_RDS_PASSWORD_MANAGED: []},
  },
  {
    // The global cluster takes its source cluster's encryption; the restored cluster does not say it is encrypted.
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster.html.markdown', commit: '000a04085419aa3e7d1ba8f014dc4a5ab66e916f', section: 'Global Cluster Restored From Snapshot'},
    files: {
      'main.tf': `data "aws_db_cluster_snapshot" "example" {
  db_cluster_identifier = "example-original-cluster"
  most_recent           = true
}

resource "aws_rds_cluster" "example" {
  # Because the global cluster is sourced from this cluster, the initial
  # engine and engine_version values are defined here and automatically
  # inherited by the global cluster.
  engine         = "aurora"
  engine_version = "5.6.mysql_aurora.1.22.4"

  cluster_identifier  = "example"
  snapshot_identifier = data.aws_db_cluster_snapshot.example.id

  lifecycle {
    ignore_changes = [snapshot_identifier, global_cluster_identifier]
  }
}

resource "aws_rds_global_cluster" "example" {
  global_cluster_identifier    = "example"
  source_db_cluster_identifier = aws_rds_cluster.example.arn
  force_destroy                = true
}
`,
    },
    verdicts: {INFRA_RDS_ENCRYPTED: ['aws_rds_cluster.example']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/rds_cluster_instance.html.markdown', section: 'Example Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_rds_cluster_instance" "cluster_instances" {
  count              = 2
  identifier         = "aurora-cluster-demo-\${count.index}"
  cluster_identifier = aws_rds_cluster.default.id
  instance_class     = "db.r4.large"
  engine             = aws_rds_cluster.default.engine
  engine_version     = aws_rds_cluster.default.engine_version
}

resource "aws_rds_cluster" "default" {
  cluster_identifier = "aurora-cluster-demo"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
  database_name      = "mydb"
  master_username    = "foo"
  master_password    = "barbut8chars"
}
`,
    },
    verdicts: {
      INFRA_RDS_MULTI_AZ: [],
      INFRA_RDS_PRIVATE: [],
      // backup_retention_period unset: Aurora keeps 1 day; master_password is in configuration.
      INFRA_RDS_BACKUPS: ['aws_rds_cluster.default'],
      INFRA_RDS_ENCRYPTED: ['aws_rds_cluster.default'],
      INFRA_RDS_PASSWORD_MANAGED: ['aws_rds_cluster.default'],
    },
  },
  {
    source: {repo: 'terraform-aws-modules/terraform-aws-rds-aurora', path: 'examples/postgresql/main.tf', section: 'the instances map, with main.tf: aws_rds_cluster_instance "this" for_each over it'},
    changed: 'the module call reduced to the cluster and instance resources it makes, with the example\'s instances map as a variable default',
    protected: true,
    files: {
      'main.tf': `variable "instances" {
  default = {
    1 = {
      instance_class      = "db.r8g.2xlarge"
      publicly_accessible = true
    }
    2 = {
      identifier     = "static-member-1"
      instance_class = "db.r8g.2xlarge"
    }
  }
}
resource "aws_rds_cluster" "this" {
  cluster_identifier          = "ex-postgresql"
  engine                      = "aurora-postgresql"
  master_username             = "root"
  manage_master_user_password = true
  storage_encrypted           = true
  backup_retention_period     = 7
}
resource "aws_rds_cluster_instance" "this" {
  for_each            = var.instances
  cluster_identifier  = aws_rds_cluster.this.id
  engine              = "aurora-postgresql"
  instance_class      = each.value.instance_class
  publicly_accessible = try(each.value.publicly_accessible, null)
}
`,
    },
    verdicts: {
      INFRA_RDS_PRIVATE: ['aws_rds_cluster_instance.this["1"]'],
      INFRA_RDS_MULTI_AZ: [],
      INFRA_RDS_ENCRYPTED: [],
      INFRA_RDS_BACKUPS: [],
      INFRA_RDS_PASSWORD_MANAGED: [],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/docdb_cluster.html.markdown', commit: '0148137dc6fb802b97b74036846777ab15c0f9ad', section: 'Example Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_docdb_cluster" "docdb" {
  cluster_identifier      = "my-docdb-cluster"
  engine                  = "docdb"
  master_username         = "foo"
  master_password         = "mustbeeightchars"
  backup_retention_period = 5
  preferred_backup_window = "07:00-09:00"
  skip_final_snapshot     = true
}
`,
    },
    verdicts: {
      INFRA_RDS_ENCRYPTED: ['aws_docdb_cluster.docdb'],
      INFRA_RDS_BACKUPS: ['aws_docdb_cluster.docdb'],
      INFRA_RDS_PASSWORD_MANAGED: ['aws_docdb_cluster.docdb'],
      INFRA_RDS_DELETION_PROTECTION: ['aws_docdb_cluster.docdb'],
      INFRA_RDS_MULTI_AZ: ['aws_docdb_cluster.docdb'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/docdb_cluster_instance.html.markdown', commit: '092ac5abce53aac27654876e240decdd325b69cd', section: 'Example Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_docdb_cluster_instance" "cluster_instances" {
  count              = 2
  identifier         = "docdb-cluster-demo-\${count.index}"
  cluster_identifier = aws_docdb_cluster.default.id
  instance_class     = "db.r5.large"
}

resource "aws_docdb_cluster" "default" {
  cluster_identifier = "docdb-cluster-demo"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
  master_username    = "foo"
  master_password    = "barbut8chars"
}
`,
    },
    verdicts: {
      INFRA_RDS_MULTI_AZ: [],
      // backup_retention_period unset: DocumentDB keeps 1 day.
      INFRA_RDS_BACKUPS: ['aws_docdb_cluster.default'],
      INFRA_RDS_PASSWORD_MANAGED: ['aws_docdb_cluster.default'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/neptune_cluster.html.markdown', commit: '0388e0df7feb277837ade557eb0b144e1fc4373f', section: 'Example Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_neptune_cluster" "default" {
  cluster_identifier                  = "neptune-cluster-demo"
  engine                              = "neptune"
  backup_retention_period             = 5
  preferred_backup_window             = "07:00-09:00"
  skip_final_snapshot                 = true
  iam_database_authentication_enabled = true
  apply_immediately                   = true
}
`,
    },
    verdicts: {
      INFRA_RDS_ENCRYPTED: ['aws_neptune_cluster.default'],
      INFRA_RDS_BACKUPS: ['aws_neptune_cluster.default'],
      INFRA_RDS_IAM_AUTH: [],
      INFRA_RDS_DELETION_PROTECTION: ['aws_neptune_cluster.default'],
      INFRA_RDS_MULTI_AZ: ['aws_neptune_cluster.default'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/neptune_cluster_instance.html.markdown', commit: '0ca78c11b5ece5efe1431998b315d337a281151d', section: 'Example Usage'},
    protected: true,
    files: {
      'main.tf': `resource "aws_neptune_cluster" "default" {
  cluster_identifier                  = "neptune-cluster-demo"
  engine                              = "neptune"
  backup_retention_period             = 5
  preferred_backup_window             = "07:00-09:00"
  skip_final_snapshot                 = true
  iam_database_authentication_enabled = true
  apply_immediately                   = true
}

resource "aws_neptune_cluster_instance" "example" {
  count              = 2
  cluster_identifier = aws_neptune_cluster.default.id
  engine             = "neptune"
  instance_class     = "db.r4.large"
  apply_immediately  = true
}
`,
    },
    verdicts: {INFRA_RDS_MULTI_AZ: [], INFRA_RDS_PRIVATE: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/neptune_cluster_instance_is_publicly_accessible/test/positive.tf', commit: 'c884dad49ad153300e041536dc4d2d3588a3ed5f'},
    files: {
      'main.tf': `resource "aws_neptune_cluster_instance" "example" {
  count              = 2
  cluster_identifier = aws_neptune_cluster.default.id
  engine             = "neptune"
  instance_class     = "db.r4.large"
  apply_immediately  = true
  publicly_accessible = true
}
`,
    },
    verdicts: {INFRA_RDS_PRIVATE: ['aws_neptune_cluster_instance.example[0]', 'aws_neptune_cluster_instance.example[1]']},
  },

  // EKS
  {
    source: {repo: PROVIDER, path: 'website/docs/r/eks_cluster.html.markdown', commit: '0148137dc6fb802b97b74036846777ab15c0f9ad', section: 'Basic Usage'},
    files: {
      'main.tf': `resource "aws_eks_cluster" "example" {
  name     = "example"
  role_arn = aws_iam_role.example.arn

  vpc_config {
    subnet_ids = [aws_subnet.example1.id, aws_subnet.example2.id]
  }

  # Ensure that IAM Role permissions are created before and deleted after EKS Cluster handling.
  # Otherwise, EKS will not be able to properly delete EKS managed EC2 infrastructure such as Security Groups.
  depends_on = [
    aws_iam_role_policy_attachment.example-AmazonEKSClusterPolicy,
    aws_iam_role_policy_attachment.example-AmazonEKSVPCResourceController,
  ]
}

output "endpoint" {
  value = aws_eks_cluster.example.endpoint
}

output "kubeconfig-certificate-authority-data" {
  value = aws_eks_cluster.example.certificate_authority[0].data
}
`,
    },
    verdicts: {
      // endpoint_public_access defaults to true.
      INFRA_EKS_PRIVATE_ENDPOINT: ['aws_eks_cluster.example'],
      INFRA_EKS_SECRETS_ENCRYPTED: ['aws_eks_cluster.example'],
      INFRA_EKS_CONTROL_PLANE_LOGS: ['aws_eks_cluster.example'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/eks_cluster.html.markdown', commit: '0148137dc6fb802b97b74036846777ab15c0f9ad', section: 'Enabling Control Plane Logging'},
    files: {
      'main.tf': `variable "cluster_name" {
  default = "example"
  type    = string
}

resource "aws_eks_cluster" "example" {
  depends_on = [aws_cloudwatch_log_group.example]

  enabled_cluster_log_types = ["api", "audit"]
  name                      = var.cluster_name

  # ... other configuration ...
}

resource "aws_cloudwatch_log_group" "example" {
  # The log group name format is /aws/eks/<cluster-name>/cluster
  # Reference: https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html
  name              = "/aws/eks/\${var.cluster_name}/cluster"
  retention_in_days = 7

  # ... potentially other configuration ...
}
`,
    },
    verdicts: {INFRA_EKS_CONTROL_PLANE_LOGS: ['aws_eks_cluster.example'], INFRA_LOG_RETENTION: [], INFRA_LOGS_ENCRYPTED: ['aws_cloudwatch_log_group.example']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/eks_cluster_has_public_access/test/negative.tf', commit: 'b5fd33f4b44cd6b5a04eb22c850a1e01cec14509'},
    files: {
      'main.tf': `resource "aws_eks_cluster" "negative1" {
  name     = "example"
  role_arn = aws_iam_role.example.arn

  vpc_config {
    subnet_ids = [aws_subnet.example1.id, aws_subnet.example2.id]
    endpoint_public_access = false
  }

  # Ensure that IAM Role permissions are created before and deleted after EKS Cluster handling.
  # Otherwise, EKS will not be able to properly delete EKS managed EC2 infrastructure such as Security Groups.
  depends_on = [
    aws_iam_role_policy_attachment.example-AmazonEKSClusterPolicy,
  ]
}

output "endpoint" {
  value = aws_eks_cluster.example.endpoint
}

output "kubeconfig-certificate-authority-data" {
  value = aws_eks_cluster.example.certificate_authority[0].data
}`,
    },
    verdicts: {INFRA_EKS_PRIVATE_ENDPOINT: [], INFRA_EKS_SECRETS_ENCRYPTED: ['aws_eks_cluster.negative1']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/eks_node_group.html.markdown', commit: '05389d465b6e1e0668493790eae67abd82d1195a', section: 'Example Usage, and Example IAM Role for EKS Node Group'},
    files: {
      'main.tf': `resource "aws_eks_node_group" "example" {
  cluster_name    = aws_eks_cluster.example.name
  node_group_name = "example"
  node_role_arn   = aws_iam_role.example.arn
  subnet_ids      = aws_subnet.example[*].id

  scaling_config {
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }

  update_config {
    max_unavailable = 2
  }

  # Ensure that IAM Role permissions are created before and deleted after EKS Node Group handling.
  # Otherwise, EKS will not be able to properly delete EC2 Instances and Elastic Network Interfaces.
  depends_on = [
    aws_iam_role_policy_attachment.example-AmazonEKSWorkerNodePolicy,
    aws_iam_role_policy_attachment.example-AmazonEKS_CNI_Policy,
    aws_iam_role_policy_attachment.example-AmazonEC2ContainerRegistryReadOnly,
  ]
}

resource "aws_iam_role" "example" {
  name = "eks-node-group-example"

  assume_role_policy = jsonencode({
    Statement = [{
      Action = "sts:AssumeRole"
      Effect = "Allow"
      Principal = {
        Service = "ec2.amazonaws.com"
      }
    }]
    Version = "2012-10-17"
  })
}

resource "aws_iam_role_policy_attachment" "example-AmazonEKSWorkerNodePolicy" {
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
  role       = aws_iam_role.example.name
}

resource "aws_iam_role_policy_attachment" "example-AmazonEKS_CNI_Policy" {
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
  role       = aws_iam_role.example.name
}

resource "aws_iam_role_policy_attachment" "example-AmazonEC2ContainerRegistryReadOnly" {
  policy_arn = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
  role       = aws_iam_role.example.name
}
`,
    },
    verdicts: {INFRA_EKS_NO_NODE_SSH: [], INFRA_IAM_ROLE_TRUST_NOT_PUBLIC: [], INFRA_IAM_NO_ADMIN_WILDCARD: [], INFRA_IAM_NO_SERVICE_WILDCARD: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/eks_node_group_remote_access_disabled/test/positive.tf', commit: '51d5f8a139010d1cb406e50d5a60bf9b9b74c351'},
    files: {
      'main.tf': `resource "aws_eks_node_group" "positive" {
  cluster_name    = aws_eks_cluster.example.name
  node_group_name = "example"
  node_role_arn   = aws_iam_role.example.arn
  subnet_ids      = aws_subnet.example[*].id

  scaling_config {
    desired_size = 1
    max_size     = 1
    min_size     = 1
  }

  remote_access {
    ec2_ssh_key = "my-rsa-key"
  }

  # Ensure that IAM Role permissions are created before and deleted after EKS Node Group handling.
  # Otherwise, EKS will not be able to properly delete EC2 Instances and Elastic Network Interfaces.
  depends_on = [
    aws_iam_role_policy_attachment.example-AmazonEKSWorkerNodePolicy,
    aws_iam_role_policy_attachment.example-AmazonEKS_CNI_Policy,
    aws_iam_role_policy_attachment.example-AmazonEC2ContainerRegistryReadOnly,
  ]
}
`,
    },
    verdicts: {INFRA_EKS_NO_NODE_SSH: ['aws_eks_node_group.positive']},
  },

  // S3
  {
    source: {repo: PROVIDER, path: 'website/docs/r/s3_bucket_server_side_encryption_configuration.html.markdown', commit: '0aa0d338dafe65943bca03c295f5e248b74f29b7', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_kms_key" "mykey" {
  description             = "This key is used to encrypt bucket objects"
  deletion_window_in_days = 10
}

resource "aws_s3_bucket" "mybucket" {
  bucket = "mybucket"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "example" {
  bucket = aws_s3_bucket.mybucket.bucket

  rule {
    apply_server_side_encryption_by_default {
      kms_master_key_id = aws_kms_key.mykey.arn
      sse_algorithm     = "aws:kms"
    }
  }
}
`,
    },
    verdicts: {
      INFRA_S3_ENCRYPTED: [],
      INFRA_KMS_ROTATION: ['aws_kms_key.mykey'],
      INFRA_S3_PUBLIC_ACCESS_BLOCKED: ['aws_s3_bucket.mybucket'],
      INFRA_S3_VERSIONED: ['aws_s3_bucket.mybucket'],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/s3_bucket_public_access_block.html.markdown', commit: '07e0d0b940f57c782f8fcc9ccfd8b19f59383b51', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_s3_bucket" "example" {
  bucket = "example"
}

resource "aws_s3_bucket_public_access_block" "example" {
  bucket = aws_s3_bucket.example.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
`,
    },
    // No ownership controls: S3's default for a new bucket, BucketOwnerEnforced (ACLs off).
    verdicts: {INFRA_S3_PUBLIC_ACCESS_BLOCKED: [], INFRA_S3_ENCRYPTED: ['aws_s3_bucket.example'], INFRA_S3_OWNER_ENFORCED: []},
  },
  {
    // BucketOwnerPreferred still honours ACLs; only BucketOwnerEnforced disables them.
    source: {repo: PROVIDER, path: 'website/docs/r/s3_bucket_ownership_controls.html.markdown', commit: '0047cfed038223ff290ff0bfc7b024bc1e6163ca', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_s3_bucket" "example" {
  bucket = "example"
}

resource "aws_s3_bucket_ownership_controls" "example" {
  bucket = aws_s3_bucket.example.id

  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}
`,
    },
    verdicts: {INFRA_S3_OWNER_ENFORCED: ['aws_s3_bucket.example']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/s3_bucket_versioning.html.markdown', section: 'With Versioning Enabled'},
    files: {
      'main.tf': `resource "aws_s3_bucket" "example" {
  bucket = "example-bucket"
}

resource "aws_s3_bucket_versioning" "versioning_example" {
  bucket = aws_s3_bucket.example.id
  versioning_configuration {
    status = "Enabled"
  }
}
`,
    },
    verdicts: {INFRA_S3_VERSIONED: [], INFRA_S3_TLS_ONLY: ['aws_s3_bucket.example'], INFRA_S3_ENCRYPTED: ['aws_s3_bucket.example']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/s3_bucket_policy.html.markdown', commit: '0c68aa1cd8712a7b610b6f696ff92892f3c69dbc', section: 'Basic Usage'},
    files: {
      'main.tf': `resource "aws_s3_bucket" "b" {
  bucket = "my-tf-test-bucket"
}

resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id

  policy = <<POLICY
{
  "Version": "2012-10-17",
  "Id": "MYBUCKETPOLICY",
  "Statement": [
    {
      "Sid": "IPAllow",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "s3:*",
      "Resource": "arn:aws:s3:::my-tf-test-bucket/*",
      "Condition": {
         "IpAddress": {"aws:SourceIp": "8.8.8.8/32"}
      }
    }
  ]
}
POLICY
}
`,
    },
    verdicts: {INFRA_S3_TLS_ONLY: ['aws_s3_bucket.b']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/s3_bucket_policy_accepts_http_requests/test/negative1.tf', commit: 'eefdc9b5eb9067a58fcc765c091d7c61556aacf9'},
    files: {
      'main.tf': `resource "aws_s3_bucket" "b" {
  bucket = "my-tf-test-bucket"
}

resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id

  policy = <<EOF
{
    "Version": "2012-10-17",
    "Id": "MYBUCKETPOLICY",
    "Statement": [
      {
        "Sid": "IPAllow",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [
          "aws_s3_bucket.b.arn"
        ],
        "Condition": {
          "Bool": {
            "aws:SecureTransport": "false"
          }
        }
      }
    ]
}
EOF
}
`,
    },
    verdicts: {INFRA_S3_TLS_ONLY: []},
  },

  // Encryption keys, logs, topics, secrets
  {
    source: {repo: PROVIDER, path: 'website/docs/r/kms_key.html.markdown', commit: '0413c661ec1b94f3033c98f3fbd1e8c1b2725589', section: 'Symmetric Encryption KMS Key With Standalone Policy Resource'},
    files: {
      'main.tf': `data "aws_caller_identity" "current" {}

resource "aws_kms_key" "example" {
  description             = "An example symmetric encryption KMS key"
  enable_key_rotation     = true
  deletion_window_in_days = 20
}

resource "aws_kms_key_policy" "example" {
  key_id = aws_kms_key.example.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "key-default-1"
    Statement = [
      {
        Sid    = "Enable IAM User Permissions"
        Effect = "Allow"
        Principal = {
          AWS = "arn:aws:iam::\${data.aws_caller_identity.current.account_id}:root"
        },
        Action   = "kms:*"
        Resource = "*"
      }
    ]
  })
}
`,
    },
    verdicts: {INFRA_KMS_ROTATION: []},
  },
  {
    // Automatic rotation is for symmetric encryption keys only: an HMAC key is exempt.
    source: {repo: PROVIDER, path: 'website/docs/r/kms_key.html.markdown', commit: '0413c661ec1b94f3033c98f3fbd1e8c1b2725589', section: 'HMAC KMS key'},
    changed: 'the key policy left out (it reads data.aws_caller_identity and no rule reads a key policy)',
    files: {
      'main.tf': `resource "aws_kms_key" "example" {
  description              = "HMAC_384 key for tokens"
  customer_master_key_spec = "HMAC_384"
  key_usage                = "GENERATE_VERIFY_MAC"
  enable_key_rotation      = false
}
`,
    },
    verdicts: {INFRA_KMS_ROTATION: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/cloudwatch_log_group.html.markdown', commit: '05389d465b6e1e0668493790eae67abd82d1195a', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_cloudwatch_log_group" "yada" {
  name = "Yada"

  tags = {
    Environment = "production"
    Application = "serviceA"
  }
}
`,
    },
    verdicts: {INFRA_LOGS_ENCRYPTED: ['aws_cloudwatch_log_group.yada'], INFRA_LOG_RETENTION: ['aws_cloudwatch_log_group.yada']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/cloudwatch_log_group_not_encrypted/test/negative.tf', commit: 'a3c2e0dd54f67111fca4e2113e06b46c8707678b'},
    files: {
      'main.tf': KICS_LOG_GROUP_NEGATIVE,
    },
    // One day of retention passes outside production; the protected case below asks 365.
    verdicts: {INFRA_LOGS_ENCRYPTED: [], INFRA_LOG_RETENTION: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/cloudwatch_log_group_not_encrypted/test/negative.tf', commit: 'a3c2e0dd54f67111fca4e2113e06b46c8707678b', section: 'audited as a protected environment'},
    protected: true,
    files: {
      'main.tf': KICS_LOG_GROUP_NEGATIVE,
    },
    verdicts: {INFRA_LOG_RETENTION: ['aws_cloudwatch_log_group.negative1']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/sns_topic.html.markdown', commit: '0288e048a97028af862c14e73c619afa2f8901ff', section: 'Example Usage'},
    files: {'main.tf': `resource "aws_sns_topic" "user_updates" {\n  name = "user-updates-topic"\n}\n`},
    verdicts: {INFRA_SNS_ENCRYPTED: ['aws_sns_topic.user_updates']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/sns_topic.html.markdown', commit: '0288e048a97028af862c14e73c619afa2f8901ff', section: 'Example with Server-side encryption (SSE)'},
    files: {'main.tf': `resource "aws_sns_topic" "user_updates" {\n  name              = "user-updates-topic"\n  kms_master_key_id = "alias/aws/sns"\n}\n`},
    verdicts: {INFRA_SNS_ENCRYPTED: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/secretsmanager_secret.html.markdown', commit: '06c2a7d48fbeec8d91cd81f6d6dbd6da76da0dee', section: 'Basic'},
    files: {'main.tf': `resource "aws_secretsmanager_secret" "example" {\n  name = "example"\n}\n`},
    verdicts: {INFRA_SECRET_CMK: ['aws_secretsmanager_secret.example']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/secretsmanager_secret_encrypted_with_aws_managed_key/test/positive1.tf', commit: '60345d6599f487df76c155a4e126efc3bd095087'},
    files: {'main.tf': `resource "aws_secretsmanager_secret" "test2" {\n  name       = "test-cloudrail-1"\n  kms_key_id = "alias/aws/secretsmanager"\n}\n`},
    verdicts: {INFRA_SECRET_CMK: ['aws_secretsmanager_secret.test2']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/secretsmanager_secret_encrypted_with_aws_managed_key/test/negative.tf', commit: '1dfe8815ec68f11017b80a6016ea82084e8367b0'},
    files: {'main.tf': `resource "aws_secretsmanager_secret" "test222" {\n  name       = "test-cloudrail-1"\n  kms_key_id = "alias/MyAlias"\n}\n`},
    verdicts: {INFRA_SECRET_CMK: []},
  },

  // CloudTrail and flow logs
  {
    source: {repo: PROVIDER, path: 'website/docs/r/cloudtrail.html.markdown', commit: '02f72763de1e54977beeb598f5b705a5b3180463', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_cloudtrail" "foobar" {
  name                          = "tf-trail-foobar"
  s3_bucket_name                = "\${aws_s3_bucket.foo.id}"
  s3_key_prefix                 = "prefix"
  include_global_service_events = false

  event_selector {
    read_write_type = "All"
    include_management_events = false
    data_resource {
      type = "AWS::S3::Object"
      values = [
         "arn:aws:s3:::tf-bucket/foobar",
       ]
    }
  }
}

resource "aws_s3_bucket" "foo" {
  bucket        = "tf-test-trail"
  force_destroy = true

  policy = <<POLICY
{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {
              "Service": "cloudtrail.amazonaws.com"
            },
            "Action": "s3:GetBucketAcl",
            "Resource": "arn:aws:s3:::tf-test-trail"
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {
              "Service": "cloudtrail.amazonaws.com"
            },
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::tf-test-trail/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control"
                }
            }
        }
    ]
}
POLICY
}
`,
    },
    verdicts: {
      INFRA_CLOUDTRAIL_ENCRYPTED: ['aws_cloudtrail.foobar'],
      INFRA_CLOUDTRAIL_MULTI_REGION: ['aws_cloudtrail.foobar'],
      INFRA_CLOUDTRAIL_VALIDATION: ['aws_cloudtrail.foobar'],
      INFRA_S3_TLS_ONLY: ['aws_s3_bucket.foo'],
    },
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/cloudtrail_multi_region_disabled/test/negative.tf', commit: 'b5fd33f4b44cd6b5a04eb22c850a1e01cec14509'},
    files: {
      'main.tf': `#this code is a correct code for which the query should not find any result
resource "aws_cloudtrail" "negative1" {
  name                          = "negative"
  s3_bucket_name                = "bucketlog"
  is_multi_region_trail         = true
} `,
    },
    verdicts: {INFRA_CLOUDTRAIL_MULTI_REGION: [], INFRA_CLOUDTRAIL_VALIDATION: ['aws_cloudtrail.negative1'], INFRA_CLOUDTRAIL_ENCRYPTED: ['aws_cloudtrail.negative1']},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/cloudtrail_log_file_validation_disabled/test/negative.tf', commit: 'accbbcbbffa25a4acf26be051b8eb92d8f8c5a1d'},
    files: {
      'main.tf': `resource "aws_cloudtrail" "negative1" {
  name                          = "negative1"
  s3_bucket_name                = "bucketlog1"
  enable_log_file_validation    = true
}
`,
    },
    verdicts: {INFRA_CLOUDTRAIL_VALIDATION: [], INFRA_CLOUDTRAIL_MULTI_REGION: ['aws_cloudtrail.negative1']},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/flow_log.html.markdown', commit: '01606926a0c0ab9174aec440f976a48b0baee722', section: 'CloudWatch Logging'},
    files: {
      'main.tf': `resource "aws_flow_log" "example" {
  iam_role_arn    = aws_iam_role.example.arn
  log_destination = aws_cloudwatch_log_group.example.arn
  traffic_type    = "ALL"
  vpc_id          = aws_vpc.example.id
}

resource "aws_cloudwatch_log_group" "example" {
  name = "example"
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    effect = "Allow"

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    actions = ["sts:AssumeRole"]
  }
}

resource "aws_iam_role" "example" {
  name               = "example"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

data "aws_iam_policy_document" "example" {
  statement {
    effect = "Allow"

    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]

    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "example" {
  name   = "example"
  role   = aws_iam_role.example.id
  policy = data.aws_iam_policy_document.example.json
}
`,
    },
    verdicts: {
      INFRA_FLOW_LOGS_ALL_TRAFFIC: [],
      // No log_format: the default format lacks the fields the isolation audit reads.
      INFRA_FLOW_LOGS_FORMAT: ['aws_flow_log.example'],
      INFRA_LOGS_ENCRYPTED: ['aws_cloudwatch_log_group.example'],
      INFRA_LOG_RETENTION: ['aws_cloudwatch_log_group.example'],
      INFRA_IAM_ROLE_TRUST_NOT_PUBLIC: [],
      INFRA_IAM_NO_ADMIN_WILDCARD: [],
      INFRA_IAM_NO_SERVICE_WILDCARD: [],
    },
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/flow_log.html.markdown', commit: '01606926a0c0ab9174aec440f976a48b0baee722', section: 'Cross-Account Amazon Data Firehose Logging (the source account\'s VPC and flow log)'},
    changed: 'only the source account\'s aws_vpc and aws_flow_log of the example',
    files: {
      'main.tf': `# For source account
resource "aws_vpc" "src" {
  # config...
}

resource "aws_flow_log" "src" {
  log_destination_type       = "kinesis-data-firehose"
  log_destination            = aws_kinesis_firehose_delivery_stream.dst.arn
  traffic_type               = "ALL"
  vpc_id                     = aws_vpc.src.id
  iam_role_arn               = aws_iam_role.src.arn
  deliver_cross_account_role = aws_iam_role.dst.arn
}
`,
    },
    verdicts: {INFRA_VPC_FLOW_LOGS: [], INFRA_FLOW_LOGS_ALL_TRAFFIC: []},
  },

  // IAM
  {
    source: {repo: PROVIDER, path: 'website/docs/r/iam_policy.html.markdown', section: 'Example Usage'},
    files: {
      'main.tf': `resource "aws_iam_policy" "policy" {
  name        = "test_policy"
  path        = "/"
  description = "My test policy"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Action = [
          "ec2:Describe*",
        ]
        Effect   = "Allow"
        Resource = "*"
      },
    ]
  })
}
`,
    },
    verdicts: {INFRA_IAM_NO_ADMIN_WILDCARD: [], INFRA_IAM_NO_SERVICE_WILDCARD: []},
  },
  {
    // The third statement grants s3:* on the user's home prefix.
    source: {repo: PROVIDER, path: 'website/docs/d/iam_policy_document.html.markdown', commit: '051db233538c8bd99cc5f73216a5e19274062cbb', section: 'Basic Example'},
    changed: 'variable "s3_bucket_name" declared (the snippet uses it) and given with --var',
    vars: ['s3_bucket_name=example'],
    files: {
      'main.tf': `variable "s3_bucket_name" {}

data "aws_iam_policy_document" "example" {
  statement {
    sid = "1"

    actions = [
      "s3:ListAllMyBuckets",
      "s3:GetBucketLocation",
    ]

    resources = [
      "arn:aws:s3:::*",
    ]
  }

  statement {
    actions = [
      "s3:ListBucket",
    ]

    resources = [
      "arn:aws:s3:::\${var.s3_bucket_name}",
    ]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"

      values = [
        "",
        "home/",
        "home/&{aws:username}/",
      ]
    }
  }

  statement {
    actions = [
      "s3:*",
    ]

    resources = [
      "arn:aws:s3:::\${var.s3_bucket_name}/home/&{aws:username}",
      "arn:aws:s3:::\${var.s3_bucket_name}/home/&{aws:username}/*",
    ]
  }
}

resource "aws_iam_policy" "example" {
  name   = "example_policy"
  path   = "/"
  policy = data.aws_iam_policy_document.example.json
}
`,
    },
    verdicts: {INFRA_IAM_NO_SERVICE_WILDCARD: ['aws_iam_policy.example'], INFRA_IAM_NO_ADMIN_WILDCARD: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/iam_policies_with_full_privileges/test/positive.tf', commit: '7b21d1ce380cb556ed122dac5b9eb37e285dd455'},
    files: {
      'main.tf': `resource "aws_iam_role_policy" "positive1" {
  name = "apigateway-cloudwatch-logging"
  role = "\${aws_iam_role.apigateway_cloudwatch_logging.id}"

  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["*"],
      "Resource": "*"
    }
  ]
}
EOF
}`,
    },
    verdicts: {INFRA_IAM_NO_ADMIN_WILDCARD: ['aws_iam_role_policy.positive1'], INFRA_IAM_NO_SERVICE_WILDCARD: []},
  },
  {
    source: {repo: KICS, path: 'assets/queries/terraform/aws/iam_policies_with_full_privileges/test/negative.tf', commit: '7b21d1ce380cb556ed122dac5b9eb37e285dd455'},
    files: {
      'main.tf': `resource "aws_iam_role_policy" "negative1" {
  name = "apigateway-cloudwatch-logging"
  role = "\${aws_iam_role.apigateway_cloudwatch_logging.id}"

  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["some:action"],
      "Resource": "*"
    }
  ]
}
EOF
}`,
    },
    verdicts: {INFRA_IAM_NO_ADMIN_WILDCARD: [], INFRA_IAM_NO_SERVICE_WILDCARD: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/iam_access_key.html.markdown', commit: '0bc9ebe6b02c6b9a5bcf2d918333f720187b04e0', section: 'Example Usage (first)'},
    files: {
      'main.tf': `resource "aws_iam_access_key" "lb" {
  user    = aws_iam_user.lb.name
  pgp_key = "keybase:some_person_that_exists"
}

resource "aws_iam_user" "lb" {
  name = "loadbalancer"
  path = "/system/"
}

resource "aws_iam_user_policy" "lb_ro" {
  name = "test"
  user = aws_iam_user.lb.name

  policy = <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": [
        "ec2:Describe*"
      ],
      "Effect": "Allow",
      "Resource": "*"
    }
  ]
}
EOF
}

output "secret" {
  value = aws_iam_access_key.lb.encrypted_secret
}
`,
    },
    verdicts: {INFRA_IAM_NO_USER_KEYS: ['aws_iam_access_key.lb'], INFRA_IAM_NO_ADMIN_WILDCARD: [], INFRA_IAM_NO_SERVICE_WILDCARD: []},
  },
  {
    source: {repo: 'bridgecrewio/checkov', path: 'tests/terraform/checks/resource/aws/test_IAMRoleAllowsPublicAssume.py', commit: 'a2addd185ba65934038d37df865cb0989631a43b', section: 'test_failure'},
    files: {
      'main.tf': `resource "aws_iam_role" "lambdaRole" {
    name = "test-role"
    assume_role_policy = <<EOF
{
"Version": "2012-10-17",
"Statement": [
{
"Action": "sts:AssumeRole",
"Principal" : {"Service": "lambda.amazonaws.com"},
"Effect": "Allow"
},
{
"Action": "sts:AssumeRole",
"Principal" : {"AWS": "*"},
"Effect": "Allow"
},
{
"Action": "sts:AssumeRole",
"Principal" : {"Service": "events.amazonaws.com"},
"Effect": "Allow"
}
]
}

EOF
}
`,
    },
    verdicts: {INFRA_IAM_ROLE_TRUST_NOT_PUBLIC: ['aws_iam_role.lambdaRole']},
  },
  {
    source: {repo: 'bridgecrewio/checkov', path: 'tests/terraform/checks/resource/aws/test_IAMRoleAllowsPublicAssume.py', commit: 'a2addd185ba65934038d37df865cb0989631a43b', section: 'test_success_deny'},
    files: {
      'main.tf': `resource "aws_iam_role" "lambdaRole" {
    name = "test-role"
    assume_role_policy = <<EOF
{
"Version": "2012-10-17",
"Statement": [
{
"Action": "sts:AssumeRole",
"Principal" : {"AWS": "*"},
"Effect": "Deny"
}
]
}

EOF
}
`,
    },
    verdicts: {INFRA_IAM_ROLE_TRUST_NOT_PUBLIC: []},
  },

  // Load balancers and WAF
  {
    source: {repo: PROVIDER, path: 'website/docs/r/lb.html.markdown', commit: '03cff0e9799779c60d10c7fb1b24229d61df8c2b', section: 'Application Load Balancer'},
    files: {
      'main.tf': `resource "aws_lb" "test" {
  name               = "test-lb-tf"
  internal           = false
  load_balancer_type = "application"
  security_groups    = [aws_security_group.lb_sg.id]
  subnets            = [aws_subnet.public.*.id]

  enable_deletion_protection = true

  access_logs {
    bucket  = aws_s3_bucket.lb_logs.bucket
    prefix  = "test-lb"
    enabled = true
  }

  tags = {
    Environment = "production"
  }
}
`,
    },
    verdicts: {INFRA_WAF_ON_PUBLIC_LB: ['aws_lb.test'], INFRA_LB_DROP_INVALID_HEADERS: ['aws_lb.test']},
  },
  {
    // AWS WAF and drop_invalid_header_fields are for application load balancers: a network load balancer is not asked.
    source: {repo: PROVIDER, path: 'website/docs/r/lb.html.markdown', commit: '03cff0e9799779c60d10c7fb1b24229d61df8c2b', section: 'Network Load Balancer'},
    files: {
      'main.tf': `resource "aws_lb" "test" {
  name               = "test-lb-tf"
  internal           = false
  load_balancer_type = "network"
  subnets            = [aws_subnet.public.*.id]

  enable_deletion_protection = true

  tags = {
    Environment = "production"
  }
}
`,
    },
    verdicts: {INFRA_WAF_ON_PUBLIC_LB: [], INFRA_LB_DROP_INVALID_HEADERS: []},
  },
  {
    source: {repo: PROVIDER, path: 'website/docs/r/wafregional_web_acl_association.html.markdown', section: 'Application Load Balancer Association Example'},
    changed: 'the example\'s VPC and subnets left out (subnets given by id), internal = false so the rule applies, drop_invalid_header_fields set',
    files: {
      'main.tf': `resource "aws_wafregional_web_acl" "foo" {
  name        = "foo"
  metric_name = "foo"
  default_action {
    type = "ALLOW"
  }
}
resource "aws_alb" "foo" {
  internal                   = false
  subnets                    = ["subnet-1", "subnet-2"]
  drop_invalid_header_fields = true
}
resource "aws_wafregional_web_acl_association" "foo" {
  resource_arn = "\${aws_alb.foo.arn}"
  web_acl_id   = "\${aws_wafregional_web_acl.foo.id}"
}
`,
    },
    verdicts: {INFRA_WAF_ON_PUBLIC_LB: [], INFRA_LB_DROP_INVALID_HEADERS: []},
  },

  // OpenSearch
  {
    source: {repo: PROVIDER, path: 'website/docs/r/opensearch_domain.html.markdown', commit: '0389eecfc28a5e2ac619651541a16d7fc289abf6', section: 'Basic Usage'},
    files: {
      'main.tf': `resource "aws_opensearch_domain" "example" {
  domain_name    = "example"
  engine_version = "Elasticsearch_7.10"

  cluster_config {
    instance_type = "r4.large.search"
  }

  tags = {
    Domain = "TestDomain"
  }
}
`,
    },
    verdicts: {
      INFRA_OPENSEARCH_ENCRYPTED: ['aws_opensearch_domain.example'],
      INFRA_OPENSEARCH_NODE_TO_NODE: ['aws_opensearch_domain.example'],
      INFRA_OPENSEARCH_HTTPS: ['aws_opensearch_domain.example'],
      INFRA_OPENSEARCH_VPC_ONLY: ['aws_opensearch_domain.example'],
    },
  },
  {
    // Encrypted at rest with the AWS owned key (no kms_key_id): not the customer key the rule asks.
    source: {repo: PROVIDER, path: 'website/docs/r/opensearch_domain.html.markdown', commit: '0389eecfc28a5e2ac619651541a16d7fc289abf6', section: 'Enabling fine-grained access control on an existing domain, First apply'},
    files: {
      'main.tf': `resource "aws_opensearch_domain" "example" {
  domain_name    = "ggkitty"
  engine_version = "Elasticsearch_7.1"

  cluster_config {
    instance_type = "r5.large.search"
  }

  advanced_security_options {
    enabled                        = false
    anonymous_auth_enabled         = true
    internal_user_database_enabled = true
    master_user_options {
      master_user_name     = "example"
      master_user_password = "Barbarbarbar1!"
    }
  }

  encrypt_at_rest {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  node_to_node_encryption {
    enabled = true
  }

  ebs_options {
    ebs_enabled = true
    volume_size = 10
  }
}
`,
    },
    verdicts: {
      INFRA_OPENSEARCH_ENCRYPTED: ['aws_opensearch_domain.example'],
      INFRA_OPENSEARCH_NODE_TO_NODE: [],
      INFRA_OPENSEARCH_HTTPS: [],
      INFRA_OPENSEARCH_VPC_ONLY: ['aws_opensearch_domain.example'],
    },
  },
]
