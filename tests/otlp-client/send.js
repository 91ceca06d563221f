#!/usr/bin/env node
// Sends traces, metrics and logs to an OTLP endpoint with the real OpenTelemetry JS SDK (the
// pinned packages of package.json), the way an OpenClaw agent would, and writes what it sent to a
// manifest so the test can compare it with what petrel wrote out.
//
//   node send.js --protocol http/protobuf|http/json|grpc --endpoint http://127.0.0.1:4318
//                [--compression none|gzip] [--signals traces,metrics,logs] [--run ID]
//                [--spans N] [--logs N] [--manifest FILE] [--token T]
//
// Exits 0 when every export succeeded, 1 otherwise (the SDK's error is printed).
'use strict';

const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const fs = require('fs');

function parseArgs(argv) {
  const o = {
    protocol: 'http/protobuf',
    endpoint: 'http://127.0.0.1:4318',
    compression: 'none',
    signals: 'traces,metrics,logs',
    run: 'run-' + process.pid,
    spans: 40,
    logs: 30,
    manifest: null,
    token: null,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) {
      throw new Error('unknown option ' + argv[i]);
    }
    o[k] = argv[i + 1];
  }
  o.spans = Number(o.spans);
  o.logs = Number(o.logs);
  return o;
}

const opt = parseArgs(process.argv);
const signals = new Set(opt.signals.split(','));
const results = [];

// Every export's result, whatever the exporter: the test fails on any failed export.
function tracked(exporter, signal) {
  const orig = exporter.export.bind(exporter);
  exporter.export = (items, cb) => orig(items, (res) => {
    results.push({ signal, code: res.code, error: res.error ? String(res.error) : null });
    cb(res);
  });
  return exporter;
}

function exporterOptions(path) {
  const o = { compression: opt.compression === 'gzip' ? 'gzip' : 'none' };
  if (opt.protocol === 'grpc') {
    o.url = opt.endpoint;
    if (opt.token) {
      const { Metadata } = require('@grpc/grpc-js');
      const md = new Metadata();
      md.set('authorization', 'Bearer ' + opt.token);
      o.metadata = md;
    }
  } else {
    o.url = opt.endpoint + path;
    if (opt.token) {
      o.headers = { Authorization: 'Bearer ' + opt.token };
    }
  }
  return o;
}

function load(kind) {
  const pkg = {
    'http/protobuf': 'proto',
    'http/json': 'http',
    grpc: 'grpc',
  }[opt.protocol];
  if (!pkg) {
    throw new Error('unknown protocol ' + opt.protocol);
  }
  return require(`@opentelemetry/exporter-${kind}-otlp-${pkg}`);
}

const resource = resourceFromAttributes({
  'service.name': 'openclaw-gateway',
  'service.namespace': 'openclaw',
  'service.instance.id': 'sbx-' + opt.run,
  'test.run': opt.run,
  'test.protocol': opt.protocol,
  'test.compression': opt.compression,
  'host.cpu.count': 2,
});

const manifest = { run: opt.run, spans: [], points: [], logs: [] };

async function sendTraces() {
  const { OTLPTraceExporter } = load('trace');
  const exporter = tracked(new OTLPTraceExporter(exporterOptions('/v1/traces')), 'traces');
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 512, maxQueueSize: 4096 })],
  });
  const tracer = provider.getTracer('openclaw.agent', '2026.1.29');
  const turns = Math.max(1, Math.floor(opt.spans / 4));
  let made = 0;
  for (let t = 0; t < turns && made < opt.spans; t++) {
    const turn = tracer.startSpan('agent.turn', {
      kind: api.SpanKind.SERVER,
      attributes: { 'openclaw.session.id': `sess-${opt.run}-${t}`, 'openclaw.turn': t },
    });
    made++;
    const ctx = api.trace.setSpan(api.context.active(), turn);
    for (let c = 0; c < 3 && made < opt.spans; c++) {
      const llm = c % 2 === 0;
      const s = tracer.startSpan(llm ? 'llm.call' : 'tool.call', {
        kind: llm ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
        attributes: llm
          ? {
              'gen_ai.system': 'anthropic',
              'gen_ai.request.model': 'claude-sonnet-4-5',
              'gen_ai.usage.input_tokens': 1000 + t * 10 + c,
              'gen_ai.request.temperature': 0.25,
              'gen_ai.response.finish_reasons': ['stop', 'tool_use'],
              'llm.streaming': c === 0,
            }
          : { 'gen_ai.tool.name': 'exec', 'tool.exit_code': t % 3 },
      }, ctx);
      if (llm) {
        s.addEvent('gen_ai.first_token', { 'gen_ai.server.time_to_first_token_ms': 100 + c });
      } else if (t % 3 === 2) {
        s.setStatus({ code: api.SpanStatusCode.ERROR, message: 'exit ' + (t % 3) });
      }
      s.end();
      made++;
      manifest.spans.push(spanInfo(s));
    }
    turn.end();
    manifest.spans.push(spanInfo(turn));
  }
  await provider.forceFlush();
  await provider.shutdown();
}

function spanInfo(s) {
  const sc = s.spanContext();
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: s.parentSpanContext ? s.parentSpanContext.spanId : undefined,
    name: s.name,
    kind: s.kind + 1, // api.SpanKind starts at INTERNAL = 0; OTLP at INTERNAL = 1
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: s.status.code,
  };
}

async function sendMetrics() {
  const { OTLPMetricExporter } = load('metrics');
  const exporter = tracked(new OTLPMetricExporter(exporterOptions('/v1/metrics')), 'metrics');
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('openclaw.gateway', '2026.1.29');
  const tokens = meter.createCounter('tokens.used', { unit: '{token}' });
  const latency = meter.createHistogram('llm.latency_ms', { unit: 'ms' });
  const sessions = meter.createUpDownCounter('active_sessions');
  const depth = meter.createObservableGauge('gateway.queue.depth');
  depth.addCallback((r) => r.observe(7.5, { 'openclaw.channel': 'telegram' }));
  for (const model of ['claude-sonnet-4-5', 'gpt-5-mini']) {
    for (const type of ['input', 'output']) {
      tokens.add(100, { 'gen_ai.request.model': model, 'gen_ai.token.type': type });
      tokens.add(23, { 'gen_ai.request.model': model, 'gen_ai.token.type': type });
      manifest.points.push({ name: 'tokens.used', type: 'sum', value: 123,
                             attributes: { 'gen_ai.request.model': model, 'gen_ai.token.type': type } });
    }
    latency.record(120, { 'gen_ai.request.model': model });
    latency.record(2600, { 'gen_ai.request.model': model });
    manifest.points.push({ name: 'llm.latency_ms', type: 'histogram', value: 2720, count: 2,
                           attributes: { 'gen_ai.request.model': model } });
  }
  sessions.add(2, { 'openclaw.channel': 'slack' });
  sessions.add(-1, { 'openclaw.channel': 'slack' });
  manifest.points.push({ name: 'active_sessions', type: 'sum', value: 1,
                         attributes: { 'openclaw.channel': 'slack' } });
  manifest.points.push({ name: 'gateway.queue.depth', type: 'gauge', value: 7.5,
                         attributes: { 'openclaw.channel': 'telegram' } });
  // One collection and export: shutdown collects a last time, so a forceFlush before it would
  // send every cumulative point twice.
  await provider.shutdown();
}

async function sendLogs() {
  const { OTLPLogExporter } = load('logs');
  const exporter = tracked(new OTLPLogExporter(exporterOptions('/v1/logs')), 'logs');
  const provider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 1000, maxQueueSize: 4096 })],
  });
  const logger = provider.getLogger('openclaw.gateway', '2026.1.29');
  const sevs = [
    [SeverityNumber.INFO, 'INFO'],
    [SeverityNumber.DEBUG, 'DEBUG'],
    [SeverityNumber.WARN, 'WARN'],
    [SeverityNumber.ERROR, 'ERROR'],
  ];
  for (let i = 0; i < opt.logs; i++) {
    const [num, text] = sevs[i % sevs.length];
    const structured = i % 5 === 4;
    const rec = {
      severityNumber: num,
      severityText: text,
      body: structured ? { event: 'tool_result', ok: i % 2 === 0, n: i } : `log line ${i} of ${opt.run} ✓`,
      attributes: { 'log.index': i, 'openclaw.subsystem': 'gateway/ws' },
    };
    if (structured) {
      rec.eventName = 'openclaw.tool.result';
    }
    logger.emit(rec);
    manifest.logs.push(rec);
  }
  await provider.forceFlush();
  await provider.shutdown();
}

(async () => {
  try {
    if (signals.has('traces')) await sendTraces();
    if (signals.has('metrics')) await sendMetrics();
    if (signals.has('logs')) await sendLogs();
  } catch (e) {
    results.push({ signal: 'client', code: 1, error: String(e && e.stack || e) });
  }
  manifest.results = results;
  if (opt.manifest) {
    fs.writeFileSync(opt.manifest, JSON.stringify(manifest, null, 1));
  }
  const failed = results.filter((r) => r.code !== 0);
  for (const f of failed) {
    console.error(`export of ${f.signal} failed: ${f.error}`);
  }
  if (results.length === 0) {
    console.error('nothing was exported');
  }
  process.exit(failed.length === 0 && results.length > 0 ? 0 : 1);
})();
