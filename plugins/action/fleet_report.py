# -*- coding: utf-8 -*-
# Copyright (c) connreset.doctor contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for connreset.doctor.fleet_report: runs on the controller only.

Three modes, each its own entry point (:meth:`ActionModule.run_host_results`,
:meth:`ActionModule.run_host_doc`, :meth:`ActionModule.run_merge`), chosen by the options given,
all on the controller's file system:

* ``host_results`` given: the diagnose role's per-host step in one task -- turn the registered
  result of ``reset_facts`` into the engine's input, run the probe (``probe_args``) or read a
  registered ``ssh_probe`` result, run the endpoint probe (``endpoint_probe_args``: tcp_probe's
  code, for the role's ``diagnose_endpoints``), run the engine, store the
  host document as ``<dest>/hosts/<file>.json`` (``_report.host_file_name``) and return level, score and findings as the
  ``connreset_report`` fact (one worker per host instead of three tasks with Jinja over the
  whole fact dict: docs/performance.md, P2);
* ``host_doc`` given: store one host document in ``<dest>/hosts/``;
* otherwise: merge every ``<src>/hosts/*.json``, add the engine's cross-host findings, write
  the report files, build the console summary and evaluate the gates.

The work is in :func:`run_report` / :func:`store_host_doc` (plain functions, unit tested);
the ActionModule only validates options and maps the outcome to a task result.
"""

from __future__ import annotations

import gc
import json
import os
import traceback

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.connreset.doctor.plugins.module_utils import _probe, _tcp_probe
from ansible_collections.connreset.doctor.plugins.plugin_utils import _engine, _report

ARGUMENT_SPEC = {
    'src': {'type': 'path', 'default': 'connreset-report'},
    'dest': {'type': 'path'},
    'formats': {'type': 'list', 'elements': 'str', 'default': ['json', 'md', 'html', 'junit'],
                'choices': list(_report.FORMATS)},
    'fail_on': {'type': 'str', 'default': 'none', 'choices': list(_report.GATE_LEVELS)},
    'fail_query': {'type': 'str'},
    'enforce': {'type': 'bool', 'default': True},
    'prometheus_file': {'type': 'path'},
    'summary': {'type': 'bool', 'default': True},
    'host_doc': {'type': 'dict'},
    'host_results': {'type': 'dict', 'options': {
        'host': {'type': 'str', 'required': True},
        'collect_args': {'type': 'dict'},
        'facts': {'type': 'raw'},
        'probe': {'type': 'raw'},
        'probe_args': {'type': 'dict'},
        'endpoint_probe_args': {'type': 'dict'},
        'endpoint_probe': {'type': 'raw'},
        'capture': {'type': 'raw'},
        'probe_host': {'type': 'str'},
        'probe_port': {'type': 'int', 'default': 22},
        'thresholds': {'type': 'dict', 'default': {}},
    }},
    'hosts': {'type': 'list', 'elements': 'str'},
    'pending': {'type': 'list', 'elements': 'str', 'default': []},
    'mode': {'type': 'raw'},
    'redact': {'type': 'list', 'elements': 'str', 'default': [], 'choices': list(_report.REDACT_KINDS)},
}


def collection_version():
    """The collection's version from MANIFEST.json (installed) or galaxy.yml (checkout)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, 'MANIFEST.json'), 'r', encoding='utf-8') as handle:
            return str(json.load(handle)['collection_info']['version'])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, 'galaxy.yml'), 'r', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('version:'):
                    return line.split(':', 1)[1].strip().strip('"\'')
    except OSError:
        pass
    return 'unknown'


# Keys of a host document that stay in its file, not in the connreset_report fact.
_FACT_LEAVES_OUT = ('facts', 'probe', 'endpoint_probe', 'capture')


def option_errors(results):
    """What the host's tasks refused as bad options: the messages of a ``reset_facts``,
    ``ssh_probe`` or ``tcp_probe`` (``endpoint_probe``) result that is a clean failure (empty
    list when there is none).

    A clean failure of reset_facts is a result from a reached host with no ``connreset_meta`` and
    none of the ``module_stderr``/``rc`` of a module that could not run (that one is a diagnosis);
    of ssh_probe, a result with no ``probe`` and no exception (paramiko missing comes with the
    import's exception, which ``failed_when`` moves to ``failed_when_suppressed_exception`` in
    ansible-core 2.19: a CRD-COV-PROBE finding, not an error).  ``failed_when: false`` on both
    tasks cleared ``failed``, so these shapes are what is left to tell them apart.  The endpoint
    probe alike: a result without ``probe`` and without ``exception`` is a bad option of
    tcp_probe; one with an ``exception`` could not run (a ``probe_error`` probe).
    """
    errors = []
    facts = results.get('facts')
    if isinstance(facts, dict) and facts and not facts.get('unreachable') and not facts.get('skipped'):
        gathered = _gathered(facts)
        if 'connreset_meta' not in gathered and 'module_stderr' not in facts and 'rc' not in facts:
            errors.append('connreset.doctor.reset_facts: %s' % (facts.get('msg') or 'failed without a message'))
    probe = results.get('probe')
    if (isinstance(probe, dict) and probe and not probe.get('skipped') and 'probe' not in probe
            and 'exception' not in probe and 'failed_when_suppressed_exception' not in probe):
        errors.append('connreset.doctor.ssh_probe: %s' % (probe.get('msg') or 'failed without a message'))
    endpoint_probe = results.get('endpoint_probe')
    if (isinstance(endpoint_probe, dict) and endpoint_probe and not endpoint_probe.get('skipped')
            and 'probe' not in endpoint_probe and 'exception' not in endpoint_probe):
        errors.append('connreset.doctor.tcp_probe: %s' % (endpoint_probe.get('msg') or 'failed without a message'))
    return errors


def _gathered(result):
    """The facts of a registered reset_facts result: ``ansible_facts``, or ``facts`` (register_facts: false).

    The one that holds ``connreset_meta`` first: with register_facts false, ``ansible_facts`` may
    still hold what Ansible adds to any module's result (``discovered_interpreter_python``)."""
    candidates = [result.get(key) for key in ('ansible_facts', 'facts') if isinstance(result.get(key), dict) and result[key]]
    for facts in candidates:
        if 'connreset_meta' in facts:
            return facts
    return candidates[0] if candidates else {}


def probe_result(args):
    """Run the probe in this worker (ssh_probe's action does the same): a result shaped like a
    registered ssh_probe result, so :func:`option_errors` and :func:`host_input` read both alike."""
    validation = ArgumentSpecValidator(_probe.ARGUMENT_SPEC).validate(dict(args))
    if validation.error_messages:
        return {'failed': True, 'msg': '; '.join(validation.error_messages)}
    if not _probe.HAS_PARAMIKO:
        return {'failed': True, 'msg': missing_required_lib('paramiko'), 'exception': _probe.PARAMIKO_IMPORT_ERROR}
    try:
        return {'changed': False, 'probe': _probe.probe(validation.validated_parameters)}
    except _probe.ProbeConfigError as exc:
        return {'failed': True, 'msg': str(exc)}


def endpoint_probe_result(args):
    """Run the endpoint probe in this worker (tcp_probe's action does the same): a result shaped
    like a registered tcp_probe result, ``{changed: False, probe: {endpoints, summary}}``.

    A bad option (tcp_probe's argument spec, or ``_tcp_probe.ProbeConfigError``) is
    ``{failed: True, msg}`` with tcp_probe's own message: :func:`option_errors` fails the host
    with it.  A probe that could not run for any other reason (an error nobody foresaw) carries
    its ``exception`` too: :func:`host_input` makes it a ``probe_error`` probe, a diagnosis.
    """
    validation = ArgumentSpecValidator(_tcp_probe.ARGUMENT_SPEC).validate(dict(args))
    if validation.error_messages:
        return {'failed': True, 'msg': '; '.join(validation.error_messages)}
    try:
        return {'changed': False, 'probe': _tcp_probe.probe(validation.validated_parameters)}
    except _tcp_probe.ProbeConfigError as exc:
        return {'failed': True, 'msg': str(exc)}
    except Exception as exc:  # pylint: disable=broad-except
        return {'failed': True, 'msg': '%s: %s' % (type(exc).__name__, str(exc)[:500]),
                'exception': traceback.format_exc()[-2000:]}


def endpoint_probe_error(args, msg):
    """The probe dict of an endpoint probe that could not run: the shape ``_tcp_probe.probe``
    returns, every endpoint of ``args`` (tcp_probe's options, read defensively) ``probe_error``."""
    args = args if isinstance(args, dict) else {}
    endpoints = args.get('endpoints') if isinstance(args.get('endpoints'), list) else []
    detail = 'the endpoint probe could not run: %s' % (msg or 'no message')
    results = []
    for endpoint in endpoints[:_tcp_probe.MAX_ENDPOINTS]:
        endpoint = endpoint if isinstance(endpoint, dict) else {}
        host = str(endpoint.get('host') or args.get('host') or '').strip()
        protocol = endpoint.get('protocol') or 'tcp'
        results.append({
            'name': endpoint.get('name') or '%s:%s/%s' % (host, endpoint.get('port'), protocol),
            'host': host, 'port': endpoint.get('port'), 'protocol': protocol, 'attempts': [],
            'summary': {'classification': 'probe_error', 'phase': None, 'outcome': 'error', 'intermittent': False,
                        'counts': {}, 'likely_causes': _tcp_probe.causes_of('probe_error'), 'detail': detail},
            'idle': None})
    return {'endpoints': results,
            'summary': {'ok': 0, 'failed': len(results),
                        'classifications': dict((r['name'], 'probe_error') for r in results), 'elapsed_s': 0.0}}


def collected_summary(results, fact):
    """One line for the console (-v) instead of the raw facts: what ran, what came of it."""
    facts = results.get('facts') if isinstance(results.get('facts'), dict) else {}
    gathered = _gathered(facts)
    meta = gathered.get('connreset_meta') if isinstance(gathered.get('connreset_meta'), dict) else None
    if facts.get('unreachable'):
        head = 'unreachable: %s' % (facts.get('msg') or 'no message')
    elif meta is None:
        head = 'connreset.doctor.reset_facts could not run: %s' % (facts.get('msg') or 'no message')
    else:
        ran = [(key[len('connreset_'):], value.get('status') if isinstance(value, dict) else 'unreadable')
               for key, value in gathered.items() if key.startswith('connreset_') and key != 'connreset_meta']
        head = ('collectors: %s' % ', '.join('%s %s' % item for item in ran) if ran
                else 'no collector ran: nothing was checked')
    return '%s; level %s, score %s' % (_report._line(head)[:2000], fact.get('level'), fact.get('score'))


def host_input(results):
    """The engine's input for one host from the diagnose role's registered results.

    ``results``: {host, facts (the registered result of reset_facts), probe (the registered
    result of ssh_probe, or None), endpoint_probe (a tcp_probe result, :func:`endpoint_probe_result`,
    or None), endpoint_probe_args, capture (the registered reset_capture / async_status result, read
    by :func:`capture_input`), probe_host, probe_port, thresholds}.  An unreachable host
    becomes the ``unreachable`` error the engine classifies; a host Ansible reached whose module
    could not run (no Python, a crash: no ``connreset_meta`` came back) is the engine's
    ``failed`` input (reachable, nothing collected, with the module's message); no registered
    result at all is unreachable (nothing says the host was reached).  A probe that could not run
    becomes a ``probe_error`` probe; a skipped probe (``diagnose_probe: false``) is no probe at all.
    The endpoint probe alike (``endpoint_probe``: tcp_probe's ``{endpoints, summary}`` or None).
    """
    facts_result = results.get('facts') if isinstance(results.get('facts'), dict) else {}
    probe_result = results.get('probe') if isinstance(results.get('probe'), dict) else None
    gathered = _gathered(facts_result)
    error = failed = None
    if facts_result.get('unreachable') or not facts_result:
        error = {'msg': facts_result.get('msg') or 'host unreachable: connreset.doctor.reset_facts returned no result'}
    elif 'connreset_meta' not in gathered:
        failed = {'msg': 'connreset.doctor.reset_facts failed: %s' % _module_failure(facts_result)}
    if probe_result is None or probe_result.get('skipped'):
        probe = None
    elif isinstance(probe_result.get('probe'), dict):
        probe = probe_result['probe']
    else:
        probe = {'host': results.get('probe_host'), 'port': results.get('probe_port'), 'attempts': [],
                 'summary': {'classification': 'probe_error', 'phase': None, 'outcome': 'error',
                             'intermittent': False, 'counts': {}, 'likely_causes': [],
                             'detail': 'the probe could not run: %s' % (probe_result.get('msg') or 'no message')}}
    capture = capture_input(results.get('capture'))
    endpoint_result = results.get('endpoint_probe') if isinstance(results.get('endpoint_probe'), dict) else None
    if endpoint_result is None or endpoint_result.get('skipped'):
        endpoint_probe = None
    elif isinstance(endpoint_result.get('probe'), dict):
        endpoint_probe = endpoint_result['probe']
    else:
        endpoint_probe = endpoint_probe_error(results.get('endpoint_probe_args'), endpoint_result.get('msg'))
    return {
        'host': results.get('host'),
        'facts': dict((k, v) for k, v in gathered.items() if k.startswith('connreset_')),
        'probe': probe,
        'endpoint_probe': endpoint_probe,
        'capture': capture,
        'unreachable': error,
        'failed': failed,
        'thresholds': results.get('thresholds') or {},
    }


def capture_input(result):
    """The engine's ``capture`` from the registered result of ``reset_capture`` (its ``async_status``
    result, the diagnose role's ``diagnose_capture``): the ``connreset_capture`` fact; None when no
    capture was asked for (no result, skipped); a capture that did not finish, failed or could not
    reach the host is ``{status: unknown, reason}``, so the engine claims nothing and says why."""
    if not isinstance(result, dict) or not result or result.get('skipped'):
        return None
    for key in ('ansible_facts', 'facts'):
        fact = result.get(key) if isinstance(result.get(key), dict) else {}
        if isinstance(fact.get('connreset_capture'), dict):
            return fact['connreset_capture']
    if result.get('unreachable'):
        why = 'the host was unreachable: %s' % (result.get('msg') or 'no message')
    elif result.get('ansible_job_id') and not result.get('finished'):
        why = 'the capture did not finish in time (job %s)' % result.get('ansible_job_id')
    else:
        why = 'connreset.doctor.reset_capture failed: %s' % _module_failure(result)
    return {'status': 'unknown', 'reason': why[:2000]}


def _module_failure(result):
    """Ansible's message for a module that could not run, with its exit code and stderr (bounded)."""
    text = str(result.get('msg') or 'no message')
    if result.get('rc') is not None:
        text += ' (rc %s)' % result.get('rc')
    stderr = str(result.get('module_stderr') or '').strip()
    if stderr:
        text += ': %s' % stderr[-500:]
    return text[:2000]


def diagnose_and_store(dest, results, write=True, mode=None):
    """Run the engine on one host's results and store the document; (path, connreset_report fact).

    Raises _report.ReportError for a bad threshold (the engine's ValueError).  Anything else the
    host returned, however hostile, gives a document: the engine turns bad values into coverage
    findings.
    """
    try:
        _engine.merge_thresholds(results.get('thresholds'))
    except ValueError as exc:
        raise _report.ReportError('diagnose_thresholds: %s' % exc) from exc
    doc = _engine.diagnose_host(host_input(results))
    path = store_host_doc(dest, doc, write=write, mode=mode)
    return path, dict((k, v) for k, v in doc.items() if k not in _FACT_LEAVES_OUT)


def store_host_doc(dest, doc, write=True, mode=None):
    """Write one host document to ``<dest>/hosts/<file>`` (_report.host_file_name); returns the path."""
    if not isinstance(doc, dict) or not isinstance(doc.get('host'), str) or not doc.get('host'):
        raise _report.ReportError('host_doc must be a host document with a "host" key '
                                  '(the output of the connreset.doctor.diagnose_host filter)')
    path = os.path.join(os.path.abspath(dest), 'hosts', _report.host_file_name(doc['host']))
    if write:
        _report.write_atomic(path, _report.dumps(doc, indent=1, sort_keys=True) + '\n', mode=mode)
    return path


def run_report(src, dest=None, formats=('json', 'md', 'html', 'junit'), fail_on='none', fail_query=None,
               prometheus_file=None, write=True, fleet_check=None, version=None, generated_at=None, hosts=None,
               mode=None, redact=(), pending=()):
    """Merge ``<src>/hosts/*.json`` and write the report.  Returns a dict for the task result.

    ``fleet_check``: ``host_docs -> host_docs`` with the cross-host findings added and score and
    level recomputed (the engine's ``apply_fleet_findings``); ``write=False`` (check mode)
    computes everything and writes nothing; ``hosts``: the hosts of the play: the report lists
    each of them, a host without a readable document as CRD-COV-HOST (also in
    ``summary.errors``), and ``summary.expected_hosts`` is their number (None without ``hosts``:
    every document in ``hosts/`` is merged and the count cannot be checked); ``pending``: hosts of
    ``hosts`` that may have no document yet (later ``serial`` batches): one without a document is
    only listed in ``summary.errors`` and not counted; ``mode``: the report
    files' mode (None: the umask's); ``redact``: kinds of names pseudonymised in the report files
    (_report.REDACT_KINDS).

    The documents are read as slim host records (``_report.load_host_docs(slim=True)``): their
    facts hold only what the report reads besides report.json (``_report.REPORT_FACT_PARTS``; what
    ``fleet_check`` gets too), the whole facts are kept as the compact text report.json holds, and
    report.json is written host by host; the files are the same, byte for byte, as from the whole
    documents, in a fraction of the memory (docs/performance.md, fleet report at 100,000 hosts).
    """
    # Loading thousands of host documents builds a large heap of small dicts and lists with no
    # reference cycles; the cyclic collector walking it again and again was half of the load
    # time at 10,000 hosts (docs/performance.md, P5).  Nothing here needs it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_report(src, dest, formats, fail_on, fail_query, prometheus_file, write, fleet_check, version,
                           generated_at, hosts, mode, redact, pending)
    finally:
        if was_enabled:
            gc.enable()


def check_prometheus_file(path):
    """The textfile collector's directory must exist: it is node_exporter's, not ours to create."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise _report.ReportError('prometheus_file %s is a directory: give a file name in it, for example %s'
                                  % (path, os.path.join(path, 'connreset.prom')))
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise _report.ReportError('prometheus_file %s: the directory %s does not exist; create it (for node_exporter, '
                                  'the directory of --collector.textfile.directory) or fix the path'
                                  % (path, directory))
    return path


def _run_report(src, dest, formats, fail_on, fail_query, prometheus_file, write, fleet_check, version,
                generated_at, hosts, mode, redact, pending):
    src = os.path.abspath(src)
    dest = os.path.abspath(dest or src)
    redact = list(redact or ())
    if prometheus_file:
        prometheus_file = check_prometheus_file(prometheus_file)
    # Slim host records (the facts the report reads, the whole facts as their report.json text):
    # 100,000 hosts' whole documents would take ~6 GiB (docs/performance.md).
    docs, errors = _report.load_host_docs(src, hosts=hosts, slim=True)
    waiting = set()
    if hosts is not None:
        # Every host of the play is in the report: one without a readable document as CRD-COV-HOST,
        # unless it is still to come (a later serial batch).
        found = {doc['host'] for doc in docs}
        pending = set(str(h) for h in pending or ())
        for error in errors:
            host = error.get('host')
            if host is None or host in found:
                continue
            if host in pending and not os.path.exists(error['file']):
                waiting.add(host)
                error.update(reason='not diagnosed yet: the host is in a later serial batch', pending=True)
                continue
            docs.append(_engine.missing_host_doc(host, error['reason']))
            found.add(host)
    if fleet_check is not None and docs:
        try:
            docs = fleet_check(docs)
        except _engine.CHECK_ERRORS as exc:
            # A cross-host check that fails on a document nobody foresaw costs those findings,
            # never the report.
            errors.append({'file': os.path.join(src, 'hosts'), 'reason': 'the cross-host check failed (%s: %s); '
                           'the report has no cross-host findings' % (type(exc).__name__, str(exc)[:200])})
    expected = len(set(str(h) for h in hosts) - waiting) if hosts is not None else None
    report = _report.build_report(docs, version=version or collection_version(),
                                  generated_at=generated_at, errors=errors, expected_hosts=expected)
    gates = _report.evaluate_gates(report, fail_on=fail_on, fail_query=fail_query)
    shared = _report.redact_report(report, redact)
    files = {}
    wanted = list(dict.fromkeys(formats or []))
    if prometheus_file and 'prom' not in wanted:
        wanted.append('prom')
    for fmt in wanted:
        targets = []
        if fmt in formats:
            targets.append((fmt, os.path.join(dest, _report.FILE_NAMES[fmt]), True))
        if fmt == 'prom' and prometheus_file:
            targets.append(('prometheus_file', prometheus_file, False))
        if fmt == 'json' and write and len(targets) == 1:
            text = _report.json_chunks(shared)      # written host by host, never whole in memory
        else:
            text = _report.render(shared, fmt, fail_on=fail_on)
        for key, path, create_dirs in targets:
            if write:
                _report.write_atomic(path, text, mode=mode, create_dirs=create_dirs)
            files[key] = path
    return {
        'report_dir': dest,
        'files': files,
        'summary': report['summary'],
        'gate': gates,
        'summary_lines': _report.console_summary(report, gates),
        'fleet_check': fleet_check is not None,
    }


class ActionModule(ActionBase):
    """Merge per-host documents into the fleet report; see the module documentation."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args['host_results'] is not None and args['host_doc'] is not None:
            result.update(failed=True, msg='host_results and host_doc are two modes of fleet_report: give one of '
                          'them per task (host_results diagnoses a host, host_doc stores a finished document)')
            return result
        write = not self._task.check_mode
        try:
            mode = _report.parse_mode(args['mode'])
            if args['host_results'] is not None and args['host_results'].get('collect_args') is not None:
                collected = self.collect(args['host_results']['collect_args'], task_vars)
                args['host_results'] = dict(args['host_results'], facts=collected)
                if collected.get('unreachable'):
                    # the task does not fail: the connection's own words go to the console, uncensored,
                    # as a warning (the report has them too, classified)
                    result['warnings'] = ['%s is unreachable (diagnosed, see the report): %s'
                                          % (args['host_results']['host'], str(collected.get('msg'))[:2000])]
            if args['host_results'] is not None:
                return self.run_host_results(result, args, write, mode)
            if args['host_doc'] is not None:
                return self.run_host_doc(result, args, write, mode)
            return self.run_merge(result, args, write, mode)
        except _report.ReportError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        except OSError as exc:
            result.update(failed=True, msg='cannot write the report: %s' % exc)
            return result

    def collect(self, collect_args, task_vars):
        """Run reset_facts on this task's host (its connection, its become) and return the result the
        role's collect task would have registered, so the host needs no task of its own for it
        (docs/performance.md): the module's result, ``{unreachable, msg}`` for a host Ansible could
        not reach (the engine classifies the message), ``{failed, msg}`` for a module Ansible could
        not start (a clean failure: :func:`option_errors` fails the host with it).

        The module runs in check mode when the play does (``ansible_check_mode``), whatever this
        task's own ``check_mode: false`` (which is there so the report is written in --check); its
        facts come back in the result only (``register_facts: false``), never as host facts.
        """
        module_args = dict(collect_args, register_facts=False)
        own_check_mode = self._task.check_mode
        self._task.check_mode = bool((task_vars or {}).get('ansible_check_mode', own_check_mode))
        try:
            return self._execute_module(module_name='connreset.doctor.reset_facts', module_args=module_args,
                                        task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            return {'unreachable': True, 'changed': False, 'msg': to_text(exc)}
        except AnsibleError as exc:
            return {'failed': True, 'changed': False, 'msg': to_text(exc)}
        finally:
            self._task.check_mode = own_check_mode
            try:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            except AnsibleError:
                pass  # the host went away after the call: its temporary directory cannot be removed now

    @staticmethod
    def run_host_results(result, args, write, mode):
        """One host: the probe (probe_args) or its registered result, the endpoint probe
        (endpoint_probe_args), option checks, engine, store."""
        results = dict(args['host_results'])
        if results.get('probe_args') is not None:
            results['probe'] = probe_result(results['probe_args'])
        refused = option_errors(results)
        if not refused and results.get('endpoint_probe_args') is not None:
            # after the other checks: a host that fails on a bad option is not kept waiting for
            # the endpoints' probe (an idle hold lasts up to 15 minutes)
            results['endpoint_probe'] = endpoint_probe_result(results['endpoint_probe_args'])
            refused = option_errors(results)
        if refused:
            # a mistake to fix, not a diagnosis: the host fails with the module's own message
            result.update(failed=True, msg='; '.join(refused))
            return result
        path, fact = diagnose_and_store(args['dest'] or args['src'], results, write=write, mode=mode)
        result.update(changed=write, path=path, host=fact['host'], level=fact['level'], score=fact['score'],
                      ansible_facts={'connreset_report': fact}, msg=collected_summary(results, fact))
        return result

    @staticmethod
    def run_host_doc(result, args, write, mode):
        """One finished host document (the diagnose_host filter's output) into <dest>/hosts/."""
        path = store_host_doc(args['dest'] or args['src'], args['host_doc'], write=write, mode=mode)
        result.update(changed=write, path=path, host=args['host_doc']['host'])
        return result

    @staticmethod
    def run_merge(result, args, write, mode):
        """The fleet report: merge <src>/hosts/*.json, cross-host findings, files, summary, gates."""
        outcome = run_report(args['src'], dest=args['dest'] or args['src'], formats=args['formats'],
                             fail_on=args['fail_on'], fail_query=args['fail_query'],
                             prometheus_file=args['prometheus_file'], write=write,
                             fleet_check=_engine.apply_fleet_findings, hosts=args['hosts'], mode=mode,
                             redact=args['redact'], pending=args['pending'])
        if not args['summary']:
            outcome.pop('summary_lines')
        result.update(outcome)
        result['changed'] = write
        if outcome['gate']['failed'] and args['enforce']:
            result.update(failed=True, msg=outcome['gate']['msg'])
        else:
            result['msg'] = 'report for %d host(s) in %s; gate: %s' % (
                outcome['summary']['hosts'], outcome['report_dir'],
                'FAILED (not enforced)' if outcome['gate']['failed'] else 'passed')
        return result
