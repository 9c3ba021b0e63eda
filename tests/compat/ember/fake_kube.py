"""A small Kubernetes API server: the part Ember-CSI's CRD persistence
plugin uses, served from memory over plain HTTP on 127.0.0.1.

What it serves, as the real API server does:

- ``apiextensions.k8s.io`` (``v1beta1`` and ``v1``): list and create
  ``customresourcedefinitions``; a second create of one name is a 409.
- Custom objects of the registered definitions, namespaced or
  cluster-scoped as the definition says: create (201, 409 when the name
  exists), get, list with ``labelSelector`` (``k=v``, ``k==v``, ``k!=v``,
  ``k``, ``!k``, comma-separated), replace (the body's
  ``metadata.resourceVersion`` is required and must be the stored one, or
  409) and delete (404 when missing).  Paths of resources that no
  definition registered are 404s.
- ``metadata.resourceVersion`` from one counter, bumped by every write;
  ``uid``, ``creationTimestamp``, ``namespace`` and ``generation`` set by
  the server.  Names must be DNS subdomains and label values at most 63
  characters of ``[A-Za-z0-9._-]`` (422 Invalid otherwise, as Kubernetes
  does), annotations at most 256 KiB.
- Requests must carry the bearer token the server was made with (401).

Errors are ``Status`` objects.  Nothing else of Kubernetes is served.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import threading
import urllib.parse
import uuid
# Bound at import: importing eventlet.green.BaseHTTPServer (Cinder's
# libraries do) rebinds the ``http.server`` attribute of ``http`` to a copy
# whose server threads are green threads that would never run here.
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

EXT_GROUP = 'apiextensions.k8s.io'
EXT_VERSIONS = ('v1beta1', 'v1')
DNS_SUBDOMAIN = re.compile(
    r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
LABEL_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')
LABEL_NAME = re.compile(r'^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$')
MAX_ANNOTATIONS = 256 * 1024


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> dict[str, Any]:
        return {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
                'status': 'Failure', 'message': self.message,
                'reason': self.reason, 'code': self.code}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def _check_labels(labels: Any) -> None:
    if labels is None:
        return
    if not isinstance(labels, dict):
        raise ApiError(422, 'Invalid', 'metadata.labels: must be a map')
    for key, value in labels.items():
        _, _, name = str(key).rpartition('/')
        if len(name) > 63 or not LABEL_NAME.match(name):
            raise ApiError(422, 'Invalid',
                           f'metadata.labels: Invalid value: {key!r}: '
                           'name part must consist of alphanumeric '
                           "characters, '-', '_' or '.'")
        if (not isinstance(value, str) or len(value) > 63 or
                not LABEL_VALUE.match(value)):
            raise ApiError(422, 'Invalid',
                           f'metadata.labels: Invalid value: {value!r}: a '
                           'valid label must be an empty string or '
                           "consist of alphanumeric characters, '-', '_' "
                           "or '.' (at most 63)")


def _check_metadata(body: Any, name: Optional[str] = None) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(
            body.get('metadata'), dict):
        raise ApiError(400, 'BadRequest', 'the body has no metadata')
    meta: dict[str, Any] = body['metadata']
    obj_name = meta.get('name')
    if not isinstance(obj_name, str) or not obj_name:
        raise ApiError(422, 'Invalid', 'metadata.name: Required value')
    if len(obj_name) > 253 or not DNS_SUBDOMAIN.match(obj_name):
        raise ApiError(422, 'Invalid',
                       f'metadata.name: Invalid value: {obj_name!r}: a '
                       'lowercase RFC 1123 subdomain must consist of lower '
                       "case alphanumeric characters, '-' or '.'")
    if name is not None and obj_name != name:
        raise ApiError(400, 'BadRequest',
                       f'the name of the object ({obj_name}) does not match '
                       f'the name on the URL ({name})')
    _check_labels(meta.get('labels'))
    annotations = meta.get('annotations') or {}
    if not isinstance(annotations, dict) or not all(
            isinstance(v, str) for v in annotations.values()):
        raise ApiError(422, 'Invalid',
                       'metadata.annotations: values must be strings')
    size = sum(len(k) + len(v) for k, v in annotations.items())
    if size > MAX_ANNOTATIONS:
        raise ApiError(422, 'Invalid',
                       'metadata.annotations: Too long: must have at most '
                       f'{MAX_ANNOTATIONS} bytes')
    return meta


def _selector(text: str) -> list[tuple[str, str, Optional[str]]]:
    terms = []
    for term in filter(None, (t.strip() for t in text.split(','))):
        for op in ('!=', '==', '='):
            if op in term:
                key, _, value = term.partition(op)
                terms.append((op.strip('=') or '=', key.strip(),
                              value.strip()))
                break
        else:
            if term.startswith('!'):
                terms.append(('!', term[1:].strip(), None))
            else:
                terms.append(('exists', term, None))
    return terms


def _matches(labels: dict[str, str],
             terms: list[tuple[str, str, Optional[str]]]) -> bool:
    for op, key, value in terms:
        if op == '=' and labels.get(key) != value:
            return False
        if op == '!' and value is not None and labels.get(key) == value:
            return False
        if op == '!' and value is None and key in labels:
            return False
        if op == 'exists' and key not in labels:
            return False
    return True


class FakeKube:
    """The API state, and the HTTP server serving it (``start()``)."""

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token or uuid.uuid4().hex
        self.lock = threading.Lock()
        self.version = 0
        self.crds: dict[str, dict[str, Any]] = {}
        # (group, plural, namespace or None) -> {name: object}
        self.objects: dict[tuple[str, str, Optional[str]],
                           dict[str, dict[str, Any]]] = {}
        #: (method, path, status code) of every request, in order.
        self.requests: list[tuple[str, str, int]] = []
        self.server: Optional[ThreadingHTTPServer] = None
        self.thread: Optional[threading.Thread] = None

    # -- life --------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self) -> 'FakeKube':
        api = self

        class Handler(_Handler):
            state = api

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       name='fake-kube', daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def kubeconfig(self, namespace: str = 'default') -> str:
        """A kubeconfig file's text pointing at this server."""
        return json.dumps({
            'apiVersion': 'v1', 'kind': 'Config',
            'clusters': [{'name': 'fake',
                          'cluster': {'server': self.url}}],
            'users': [{'name': 'fake', 'user': {'token': self.token}}],
            'contexts': [{'name': 'fake', 'context': {
                'cluster': 'fake', 'user': 'fake',
                'namespace': namespace}}],
            'current-context': 'fake'})

    # -- what tests look at ------------------------------------------------
    def stored(self, group: str, plural: str,
               namespace: Optional[str] = None) -> list[dict[str, Any]]:
        """Copies of the stored objects of a kind, in creation order."""
        with self.lock:
            found = self.objects.get((group, plural, namespace), {})
            return [copy.deepcopy(o) for o in found.values()]

    # -- the API -----------------------------------------------------------
    def _next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               body: Any) -> tuple[int, Any]:
        parts = [urllib.parse.unquote(p) for p in path.split('/') if p]
        if len(parts) < 3 or parts[0] != 'apis':
            raise ApiError(404, 'NotFound', f'the server could not find '
                           f'the requested resource ({path})')
        group, version, rest = parts[1], parts[2], parts[3:]
        with self.lock:
            if group == EXT_GROUP and version in EXT_VERSIONS:
                return self._crd_call(method, version, rest, body)
            return self._object_call(method, group, version, rest, query,
                                     body)

    def _crd_call(self, method: str, version: str, rest: list[str],
                  body: Any) -> tuple[int, Any]:
        if not rest or rest[0] != 'customresourcedefinitions':
            raise ApiError(404, 'NotFound', 'unknown apiextensions resource')
        api_version = f'{EXT_GROUP}/{version}'
        if len(rest) == 1 and method == 'GET':
            items = [dict(copy.deepcopy(c), apiVersion=api_version)
                     for c in self.crds.values()]
            return 200, {'apiVersion': api_version,
                         'kind': 'CustomResourceDefinitionList',
                         'metadata': {'resourceVersion': str(self.version)},
                         'items': items}
        if len(rest) == 1 and method == 'POST':
            meta = _check_metadata(body)
            spec = body.get('spec') or {}
            names = spec.get('names') or {}
            versions = [v['name'] for v in spec.get('versions') or []]
            if spec.get('version'):
                versions.insert(0, spec['version'])
            if (not spec.get('group') or not names.get('plural') or
                    not names.get('kind') or not versions or
                    spec.get('scope') not in ('Namespaced', 'Cluster')):
                raise ApiError(422, 'Invalid', 'spec: group, names.plural, '
                               'names.kind, a version and scope are required')
            if meta['name'] != f"{names['plural']}.{spec['group']}":
                raise ApiError(422, 'Invalid', 'metadata.name: must be '
                               'spec.names.plural+"."+spec.group')
            if meta['name'] in self.crds:
                raise ApiError(409, 'AlreadyExists', f'customresource'
                               f'definitions "{meta["name"]}" already exists')
            crd = copy.deepcopy(body)
            crd.update(kind='CustomResourceDefinition')
            crd['metadata'].update(uid=str(uuid.uuid4()),
                                   creationTimestamp=_now(),
                                   resourceVersion=self._next_version(),
                                   generation=1)
            crd['status'] = {
                'acceptedNames': copy.deepcopy(names),
                'storedVersions': versions[:1],
                'conditions': [{'type': 'Established', 'status': 'True',
                                'reason': 'InitialNamesAccepted',
                                'message': 'the initial names have been '
                                           'accepted',
                                'lastTransitionTime': _now()}]}
            crd['_versions'] = versions
            self.crds[meta['name']] = crd
            out = copy.deepcopy(crd)
            out.pop('_versions')
            return 201, dict(out, apiVersion=f'{EXT_GROUP}/{version}')
        raise ApiError(405, 'MethodNotAllowed', f'{method} is not served '
                       'for customresourcedefinitions')

    def _definition(self, group: str, version: str,
                    plural: str) -> dict[str, Any]:
        crd = self.crds.get(f'{plural}.{group}')
        if crd is None or version not in crd['_versions']:
            raise ApiError(404, 'NotFound', f'the server could not find the '
                           f'requested resource ({group}/{version} {plural})')
        return crd

    def _object_call(self, method: str, group: str, version: str,
                     rest: list[str], query: dict[str, list[str]],
                     body: Any) -> tuple[int, Any]:
        namespace = None
        if len(rest) >= 3 and rest[0] == 'namespaces':
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            raise ApiError(404, 'NotFound', 'unknown path')
        plural = rest[0]
        name = rest[1] if len(rest) == 2 else None
        crd = self._definition(group, version, plural)
        if (crd['spec']['scope'] == 'Namespaced') != (namespace is not None):
            raise ApiError(404, 'NotFound', f'{plural} is '
                           f"{crd['spec']['scope']}: wrong path")
        kind = crd['spec']['names']['kind']
        store = self.objects.setdefault((group, plural, namespace), {})
        if name is None and method == 'GET':
            terms = _selector(query.get('labelSelector', [''])[0])
            items = [copy.deepcopy(o) for o in store.values()
                     if _matches(o['metadata'].get('labels') or {}, terms)]
            return 200, {'apiVersion': f'{group}/{version}',
                         'kind': f'{kind}List', 'items': items,
                         'metadata': {'resourceVersion': str(self.version)}}
        if name is None and method == 'POST':
            meta = _check_metadata(body)
            if meta['name'] in store:
                raise ApiError(409, 'AlreadyExists', f'{plural}.{group} '
                               f'"{meta["name"]}" already exists')
            obj = copy.deepcopy(body)
            obj['metadata'].update(
                uid=str(uuid.uuid4()), creationTimestamp=_now(),
                resourceVersion=self._next_version(), generation=1)
            if namespace is not None:
                obj['metadata']['namespace'] = namespace
            store[meta['name']] = obj
            return 201, copy.deepcopy(obj)
        if name is None:
            raise ApiError(405, 'MethodNotAllowed', f'{method} on a list')
        if method == 'PUT':  # the body is checked before the name's object
            meta = _check_metadata(body, name)
        current = store.get(name)
        if current is None:
            raise ApiError(404, 'NotFound',
                           f'{plural}.{group} "{name}" not found')
        if method == 'GET':
            return 200, copy.deepcopy(current)
        if method == 'DELETE':
            del store[name]
            return 200, copy.deepcopy(current)
        if method == 'PUT':
            wanted = meta.get('resourceVersion')
            if not wanted:
                raise ApiError(422, 'Invalid', 'metadata.resourceVersion: '
                               'Invalid value: 0x0: must be specified for '
                               'an update')
            if wanted != current['metadata']['resourceVersion']:
                raise ApiError(409, 'Conflict', f'Operation cannot be '
                               f'fulfilled on {plural}.{group} "{name}": the '
                               'object has been modified; please apply your '
                               'changes to the latest version and try again')
            obj = copy.deepcopy(body)
            for key in ('uid', 'creationTimestamp', 'namespace'):
                if key in current['metadata']:
                    obj['metadata'][key] = current['metadata'][key]
            obj['metadata']['generation'] = (
                current['metadata'].get('generation', 1) + 1)
            obj['metadata']['resourceVersion'] = self._next_version()
            store[name] = obj
            return 200, copy.deepcopy(obj)
        raise ApiError(405, 'MethodNotAllowed', f'{method} is not served')


class _Handler(BaseHTTPRequestHandler):
    state: FakeKube
    protocol_version = 'HTTP/1.1'

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the requests are in FakeKube.requests

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        try:
            if (self.headers.get('Authorization') !=
                    f'Bearer {self.state.token}'):
                raise ApiError(401, 'Unauthorized', 'Unauthorized')
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise ApiError(400, 'BadRequest', 'the body is not JSON')
            code, answer = self.state.handle(
                self.command, url.path, urllib.parse.parse_qs(
                    url.query, keep_blank_values=True), body)
        except ApiError as exc:
            code, answer = exc.code, exc.status()
        self.state.requests.append((self.command, url.path, code))
        data = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve
