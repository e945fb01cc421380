"""moto's server, plus the two SageMaker behaviours shadow rollouts need that moto 5.2.5 lacks.

moto 5.2.5 drops CreateEndpointConfig's ShadowProductionVariants and has no UpdateEndpoint (it
answers 500). Both are added here as the SageMaker API reference describes them; nothing else of
moto changes, and the requests still come from the real aws CLI, which checks every parameter
against SageMaker's own service model before sending:

- CreateEndpointConfig keeps ShadowProductionVariants (their models must exist, as for
  ProductionVariants) and DescribeEndpointConfig returns them;
- UpdateEndpoint moves an existing endpoint to an existing configuration, its variants and its
  data capture following (a ValidationException names what is missing). Like moto's
  CreateEndpoint, the endpoint is InService at once.

Usage: python moto_server.py [moto_server arguments]
"""

import sys

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint
from moto.sagemaker.responses import SageMakerResponse
from moto.server import main

_create_endpoint_config = SageMakerResponse.create_endpoint_config


def create_endpoint_config(self):
    shadow = self._get_param("ShadowProductionVariants") or []
    self.sagemaker_backend.validate_production_variants(shadow)
    result = _create_endpoint_config(self)
    if shadow:
        config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
        config.shadow_production_variants = shadow
    return result


def update_endpoint(self):
    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    config_name = self._get_param("EndpointConfigName")
    config = backend.describe_endpoint_config(config_name)  # ValidationException when missing
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config["DataCaptureConfig"]
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


SageMakerResponse.create_endpoint_config = create_endpoint_config
SageMakerResponse.update_endpoint = update_endpoint

if __name__ == "__main__":
    main(sys.argv[1:])
