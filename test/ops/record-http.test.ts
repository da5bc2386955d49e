import t from 'tap';
import { createMetrics, recordHttp } from '../../src/ops/metrics.js';

t.test('recordHttp counts and times each request under its route pattern', async (t) => {
  const metrics = createMetrics();
  recordHttp(metrics, 'GET', '/me', 200, 0.004);
  recordHttp(metrics, 'GET', '/me', 200, 0.2);
  recordHttp(metrics, 'GET', '/me', 401, 0.001);
  recordHttp(metrics, 'POST', '/token', 200, 0.02);
  const other = createMetrics();
  recordHttp(other, 'GET', '/me', 200, 0.004);

  const text = await metrics.registry.metrics();
  t.match(text, /roost_http_requests_total\{method="GET",route="\/me",status="200"\} 2\n/);
  t.match(text, /roost_http_requests_total\{method="GET",route="\/me",status="401"\} 1\n/);
  t.match(text, /roost_http_requests_total\{method="POST",route="\/token",status="200"\} 1\n/);
  t.match(text, /roost_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/me",status="200"\} 1\n/);
  t.match(text, /roost_http_request_duration_seconds_bucket\{le="0.25",method="GET",route="\/me",status="200"\} 2\n/);
  t.match(text, /roost_http_request_duration_seconds_sum\{method="GET",route="\/me",status="200"\} 0\.204\d*\n/);
  t.match(await other.registry.metrics(), /roost_http_requests_total\{method="GET",route="\/me",status="200"\} 1\n/, 'each app counts its own');
});
