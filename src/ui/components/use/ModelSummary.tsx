import type { UsedModelView } from '../../../../workers/api';

/** What a model card says: preset, classes, CLIP tower, stages and validation scores. */
export function ModelSummary({ model }: { model: UsedModelView }) {
  const { card } = model;
  return (
    <div className="card" data-testid="use-card">
      <h3>{card.name}</h3>
      <p className="muted">
        from {model.from} · DEARLi Lab {card.labVersion}
      </p>
      <ul>
        <li>
          decoder preset {card.preset} ({card.decoder.numQueries} queries, crop {card.decoder.cropSize} px)
        </li>
        <li>CLIP {card.clip.model}</li>
        <li>
          {card.classes.length} classes: {card.classes.map((c) => c.name).join(', ')}
        </li>
        <li>{card.stages.map((s) => `${s.kind} ${s.iterations} iterations, batch ${s.batch}`).join(' → ')}</li>
        <li data-testid="use-card-scores">
          {card.validation
            ? `validation on ${card.validation.dataset}: PQ ${card.validation.pq.toFixed(1)} · SQ ${card.validation.sq.toFixed(1)} · RQ ${card.validation.rq.toFixed(1)} · mIoU ${card.validation.miou.toFixed(1)}`
            : 'not validated'}
        </li>
        <li>
          weights sha256 <code>{card.weights.sha256}</code>
        </li>
      </ul>
    </div>
  );
}
