import { useEffect, useState } from 'react';
import type {
  ModelDownloadProgress,
  SegmentedImage,
  UsableRun,
  UsedModelView,
  UserMessage,
} from '../../../../workers/api';
import { attemptWithMessage } from '../../messages';
import { callback, pipeline } from '../../pipeline';
import { useDatasetsStore } from '../../stores/datasetsStore';
import { Messages } from '../Messages';
import { DownloadProgress } from '../models/DownloadProgress';
import { ModelSummary } from './ModelSummary';
import { SegmentedImageView } from './SegmentedImageView';
import { PredictionsExport, SharePanel } from './SharePanel';
import { ReasonedButton } from '../ReasonedButton';

/**
 * The Use view: open a model (a run trained here, dropped bundle files, or a share link), see its
 * card, segment dropped images with it, and share it. Opening `#model=…&sha256=…` lands here.
 */
export function UseView() {
  const datasets = useDatasetsStore((s) => s.datasets);
  const [runs, setRuns] = useState<UsableRun[]>([]);
  const [runId, setRunId] = useState('');
  const [model, setModel] = useState<UsedModelView | null>(null);
  const [sharedRunId, setSharedRunId] = useState<string | null>(null);
  const [progress, setProgress] = useState<ModelDownloadProgress | null>(null);
  const [opening, setOpening] = useState(false);
  const [results, setResults] = useState<SegmentedImage[]>([]);
  const [segmenting, setSegmenting] = useState(false);
  const [messages, setMessages] = useState<UserMessage[]>([]);
  const show = (m: UserMessage) => setMessages([m]);

  const open = async (what: () => Promise<UsedModelView>, fromRun: string | null) => {
    setMessages([]);
    setOpening(true);
    setResults([]);
    const opened = await attemptWithMessage(what, show);
    setOpening(false);
    setProgress(null);
    if (opened) {
      setModel(opened);
      setSharedRunId(fromRun);
    }
  };

  useEffect(() => {
    void attemptWithMessage(() => pipeline().usableRuns(), show).then((r) => {
      if (!r) return;
      setRuns(r);
      setRunId((id) => id || (r[0]?.id ?? ''));
    });
    void pipeline()
      .usedModel()
      .then((m) => m && setModel(m));
    if (/[#&]model=/.test(window.location.hash)) {
      const link = window.location.href;
      void open(() => pipeline().openSharedModel(link, callback(setProgress)), null);
    }
  }, []);

  const segment = async (files: File[]) => {
    if (files.length === 0) return;
    setMessages([]);
    setSegmenting(true);
    const segmented = await attemptWithMessage(() => pipeline().segmentImages(files), show);
    setSegmenting(false);
    if (segmented) setResults(segmented);
  };

  return (
    <div className="use-view" data-testid="use-view">
      <section className="card">
        <h2>Use a model</h2>
        <div className="row">
          <select value={runId} onChange={(e) => setRunId(e.target.value)} data-testid="use-run">
            {runs.length === 0 && <option value="">no trained run yet</option>}
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
          <ReasonedButton
            why={
              !runId ? 'Train a run first (Train tab), or open a bundle below.' : opening ? 'Opening a model…' : null
            }
            onClick={() => void open(() => pipeline().useRunModel(runId), runId)}
            data-testid="use-open-run"
          >
            Use this run
          </ReasonedButton>
        </div>
        <div className="row">
          <label>
            Bundle files (model.json + model.safetensors, or their zip):{' '}
            <input
              type="file"
              multiple
              accept=".json,.safetensors,.zip"
              data-testid="use-bundle-input"
              onChange={(e) => {
                const files = Array.from(e.target.files ?? []);
                if (files.length) void open(() => pipeline().importModelBundle(files), null);
              }}
            />
          </label>
        </div>
        {opening && <DownloadProgress progress={progress} onCancel={() => void pipeline().cancelModelLoad()} />}
        <Messages items={messages} testId="use-messages" />
      </section>
      {model && <ModelSummary model={model} />}
      {model && (
        <section
          className="card drop"
          data-testid="use-drop"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            void segment(Array.from(e.dataTransfer.files));
          }}
        >
          <h3>Segment images</h3>
          <p className="muted">Drop images here or pick them.</p>
          <input
            type="file"
            multiple
            accept="image/*"
            data-testid="use-images-input"
            onChange={(e) => void segment(Array.from(e.target.files ?? []))}
          />
          {segmenting && <p className="muted">Segmenting…</p>}
          {results.map((r, i) => (
            <SegmentedImageView key={`${r.fileName}-${i}`} result={r} />
          ))}
          <h3>Predictions for a dataset</h3>
          <PredictionsExport datasets={datasets} onMessage={show} />
        </section>
      )}
      {model && sharedRunId && <SharePanel runId={sharedRunId} onMessage={show} />}
    </div>
  );
}
