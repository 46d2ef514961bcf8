"""A small app as developers write them: it finds its bucket in VCAP_SERVICES and uses it.

It reads either platform's key names (GOV.UK PaaS: bucket_name/aws_*; cloud.gov: bucket/access_key_id/...),
stores the file named on the command line and fetches it back, printing what it read.
"""

import json
import os
import sys

import boto3
from botocore.config import Config


def credentials() -> dict:
    services = json.loads(os.environ["VCAP_SERVICES"])
    return services["s3"][0]["credentials"]


def main() -> None:
    style, key, text = sys.argv[1], sys.argv[2], sys.argv[3]
    c = credentials()
    if style == "govuk":
        bucket, key_id, secret, region = (
            c["bucket_name"],
            c["aws_access_key_id"],
            c["aws_secret_access_key"],
            c["aws_region"],
        )
    else:
        bucket, key_id, secret, region = c["bucket"], c["access_key_id"], c["secret_access_key"], c["region"]
    s3 = boto3.client(
        "s3",
        endpoint_url=c.get("endpoint"),
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    print(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


if __name__ == "__main__":
    main()
