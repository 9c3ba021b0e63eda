"""The fake Kubernetes API answers as the real one does for what Ember's
CRD plugin asks (it is only as good a test as it is faithful)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest

from tests.compat.ember import fake_kube

CRDS = '/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions'
VOLUMES = '/apis/ember-csi.io/v1/namespaces/ns/volumes'


@pytest.fixture
def kube():
    server = fake_kube.FakeKube().start()
    yield server
    server.stop()


def call(kube: fake_kube.FakeKube, method: str, path: str,
         body: Optional[dict[str, Any]] = None,
         token: Optional[str] = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        kube.url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={'Authorization': f'Bearer {token or kube.token}',
                 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        status = json.load(exc)
        assert status['kind'] == 'Status' and status['code'] == exc.code
        return exc.code, status


def volume_crd() -> dict[str, Any]:
    """The definition Ember-CSI 0.9.1 posts (cl_crd.py)."""
    return {'apiVersion': 'apiextensions.k8s.io/v1beta1',
            'kind': 'CustomResourceDefinition',
            'metadata': {'name': 'volumes.ember-csi.io'},
            'spec': {'group': 'ember-csi.io', 'version': 'v1',
                     'scope': 'Namespaced',
                     'names': {'kind': 'Volume', 'singular': 'volume',
                               'plural': 'volumes', 'shortNames': ['vol'],
                               'categories': ['all', 'ember']}}}


def volume(name: str, **labels: str) -> dict[str, Any]:
    return {'kind': 'Volume', 'apiVersion': 'ember-csi.io/v1',
            'metadata': {'name': name, 'labels': labels,
                         'annotations': {'json': '{}'}}}


def test_requests_need_the_token(kube):
    assert call(kube, 'GET', CRDS, token='wrong')[0] == 401


def test_definitions_are_created_once_and_listed(kube):
    assert call(kube, 'GET', VOLUMES)[0] == 404  # not defined yet
    code, crd = call(kube, 'POST', CRDS, volume_crd())
    assert code == 201
    assert crd['status']['acceptedNames']['kind'] == 'Volume'
    assert call(kube, 'POST', CRDS, volume_crd())[0] == 409
    code, listed = call(kube, 'GET', CRDS)
    assert [c['spec']['names']['kind'] for c in listed['items']] == \
        ['Volume']
    # Namespaced: not served at the cluster-wide path.
    assert call(kube, 'GET', '/apis/ember-csi.io/v1/volumes')[0] == 404


def test_objects_checked_like_kubernetes_does(kube):
    call(kube, 'POST', CRDS, volume_crd())
    assert call(kube, 'POST', VOLUMES, volume('Upper'))[0] == 422
    assert call(kube, 'POST', VOLUMES, volume('v', a='x' * 64))[0] == 422
    assert call(kube, 'POST', VOLUMES, volume('v', a='no spaces'))[0] == 422
    code, made = call(kube, 'POST', VOLUMES, volume('v1', a='1'))
    assert code == 201 and made['metadata']['namespace'] == 'ns'
    assert call(kube, 'POST', VOLUMES, volume('v1'))[0] == 409


def test_replace_needs_the_current_resource_version(kube):
    call(kube, 'POST', CRDS, volume_crd())
    made = call(kube, 'POST', VOLUMES, volume('v1'))[1]
    body = volume('v1', a='2')
    assert call(kube, 'PUT', f'{VOLUMES}/v1', body)[0] == 422
    body['metadata']['resourceVersion'] = made['metadata']['resourceVersion']
    code, replaced = call(kube, 'PUT', f'{VOLUMES}/v1', body)
    assert code == 200
    assert int(replaced['metadata']['resourceVersion']) > \
        int(made['metadata']['resourceVersion'])
    assert replaced['metadata']['uid'] == made['metadata']['uid']
    assert call(kube, 'PUT', f'{VOLUMES}/v1', body)[0] == 409  # stale
    assert call(kube, 'PUT', f'{VOLUMES}/v2', body)[0] == 400  # other name


def test_list_by_label_selector_get_and_delete(kube):
    call(kube, 'POST', CRDS, volume_crd())
    call(kube, 'POST', VOLUMES, volume('v1', backend='b1', size='x'))
    call(kube, 'POST', VOLUMES, volume('v2', backend='b2'))

    def names(selector: str) -> list[str]:
        found = call(kube, 'GET', f'{VOLUMES}?labelSelector={selector}'
                     '&resourceVersion=&watch=false')[1]
        return [o['metadata']['name'] for o in found['items']]

    assert names('') == ['v1', 'v2']
    assert names('backend%3Db1') == ['v1']
    assert names('backend%3D%3Db2') == ['v2']
    assert names('backend%21%3Db1') == ['v2']
    assert names('size') == ['v1']
    assert names('%21size') == ['v2']
    assert names('backend%3Db1,size%3Dy') == []
    assert call(kube, 'GET', f'{VOLUMES}/v1')[1]['metadata']['labels'] == \
        {'backend': 'b1', 'size': 'x'}
    assert call(kube, 'DELETE', f'{VOLUMES}/v1', {})[0] == 200
    assert call(kube, 'GET', f'{VOLUMES}/v1')[0] == 404
    assert call(kube, 'DELETE', f'{VOLUMES}/v1', {})[0] == 404
