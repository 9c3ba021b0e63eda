"""A CSI v1.1 client speaking JSON lines, run with the Ember-CSI venv's
Python (it imports the gRPC stubs shipped inside the Ember-CSI wheel).

Usage: ``python csi_client.py ENDPOINT``.  Each line read on stdin is one
call, ``{"method": "CreateVolume", "request": {...}, "timeout": 60,
"wait_for_ready": false}``; each
line written on stdout is its answer, ``{"ok": true, "response": {...}}``
or ``{"ok": false, "code": "NOT_FOUND", "details": "..."}``.  Requests and
responses are the messages in protobuf's JSON mapping with the field names
of the .proto file (int64 fields come back as strings).
"""

import json
import sys

import grpc
from google.protobuf import json_format

from ember_csi.v1_1_0 import csi_pb2
from ember_csi.v1_1_0 import csi_pb2_grpc


def main(endpoint):
    channel = grpc.insecure_channel(endpoint)
    stubs = [csi_pb2_grpc.IdentityStub(channel),
             csi_pb2_grpc.ControllerStub(channel),
             csi_pb2_grpc.NodeStub(channel)]
    for line in sys.stdin:
        call = json.loads(line)
        method = call['method']
        stub = next(s for s in stubs if hasattr(s, method))
        request = json_format.ParseDict(
            call.get('request', {}), getattr(csi_pb2, method + 'Request')())
        try:
            response = getattr(stub, method)(
                request, timeout=call.get('timeout', 60),
                wait_for_ready=call.get('wait_for_ready', False))
        except grpc.RpcError as exc:
            answer = {'ok': False, 'code': exc.code().name,
                      'details': exc.details()}
        else:
            answer = {'ok': True, 'response': json_format.MessageToDict(
                response, preserving_proto_field_name=True)}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main(sys.argv[1])
