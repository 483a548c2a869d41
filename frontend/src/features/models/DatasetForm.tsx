// "Add a dataset": a file or folder on the server's disk (under its data roots) registered as a
// dataset version, read as `assay datasets add` reads it (POST /api/datasets). The Models page
// opens it on its own, or for one model version ("Evaluate on a new dataset"), where the task is
// the model's and the registered version goes on to a Calculate job. "Without labels" registers
// the samples unlabeled (a folder of images, a table of paths or texts, COCO images): models run
// on it make prediction runs, compared with each other by agreement.
import { useState, type FormEvent } from "react";
import { useDataRoots } from "./hooks";
import type { DatasetCreate, DatasetCreated } from "../../api/client";
import { versionText } from "../../format";
import { Modal } from "../../components/common";

type Task = NonNullable<DatasetCreate["task"]>;

const TASKS: { value: Task | ""; label: string }[] = [
  { value: "", label: "Infer from the files" },
  { value: "classification", label: "Single-label classification" },
  { value: "multilabel", label: "Multi-label classification" },
  { value: "detection", label: "Detection" },
];

const TASK_WORDS: Record<string, string> = { classification: "single-label classification", multilabel: "multi-label classification", detection: "detection" };
const MEDIA_WORDS: Record<string, string> = { image: "images", text: "texts", table: "a table (no images or texts)" };

/** One line about a registered version: its name, size, task and media, and whether it is new. */
export function createdText(d: DatasetCreated): string {
  const kind = d.unlabeled ? "no labels" : (TASK_WORDS[d.task] ?? d.task);
  const what = `${d.dataset_name} ${versionText(d.version)} · ${d.n_samples.toLocaleString()} samples · ${kind}${d.media ? ` · ${MEDIA_WORDS[d.media] ?? d.media}` : ""}`;
  return d.new ? `Registered ${what}` : `Already registered: ${what}`;
}

export function DatasetForm({
  title,
  task: fixedTask,
  submitLabel,
  onSubmit,
  onClose,
  testid,
}: {
  title: string;
  /** The task to read the files as (a model's); absent: the person picks or it is inferred. */
  task?: Task;
  submitLabel: string;
  /** Register (and whatever follows); resolves to what to say, or rejects with the reason. */
  onSubmit: (body: DatasetCreate) => Promise<{ created: DatasetCreated; message?: string }>;
  onClose: () => void;
  testid: string;
}) {
  const roots = useDataRoots();
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const [task, setTask] = useState<Task | "">(fixedTask ?? "");
  const [images, setImages] = useState("");
  const [unlabeled, setUnlabeled] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ created: DatasetCreated; message?: string } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!path.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const body: DatasetCreate = { path: path.trim() };
      if (name.trim()) body.name = name.trim();
      if (unlabeled) body.unlabeled = true;
      else {
        if (task) body.task = task;
        if (task === "detection" && images.trim()) body.images = images.trim();
      }
      setDone(await onSubmit(body));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={title} onClose={onClose} testid={testid}>
      {done ? (
        <div data-testid="dataset-result" data-version={done.created.id} data-new={done.created.new ? "1" : "0"}>
          <p className="strong">{createdText(done.created)}</p>
          {done.message && <p data-testid="dataset-result-message">{done.message}</p>}
          {(done.created.notes ?? []).length > 0 && (
            <ul className="small muted" data-testid="dataset-notes">
              {(done.created.notes ?? []).map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
          <div className="modal-actions">
            <button className="btn btn-primary" onClick={onClose} data-testid="dataset-done">
              Done
            </button>
          </div>
        </div>
      ) : (
        <form className="dataset-form" onSubmit={(e) => void submit(e)}>
          <label className="form-field">
            <span>Path on the server</span>
            <input
              type="text"
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/data/pets/val  ·  /data/trec/test.csv  ·  /data/coco/instances_val.json"
              autoFocus
              required
              data-testid="dataset-path"
            />
            <span className="muted small" data-testid="dataset-roots">
              An absolute path to a table (CSV, JSONL, Parquet), an ImageFolder or COCO / YOLO / VOC annotations
              {roots.data ? `, under ${roots.data.roots.join(" or ")}` : ""}.
            </span>
          </label>
          <label className="form-field">
            <span>Name</span>
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="default: the folder's or the file's name" data-testid="dataset-name" />
          </label>
          <div className="form-field" data-testid="dataset-unlabeled-field">
            <label className="check strong">
              <input type="checkbox" checked={unlabeled} onChange={(e) => setUnlabeled(e.target.checked)} data-testid="dataset-unlabeled" /> Without labels
            </label>
            <span className="muted small">The samples only (a folder of images, a table of paths or texts, COCO images); a label column is ignored. Models run on it make prediction runs, compared with each other by agreement.</span>
          </div>
          {unlabeled ? null : fixedTask ? (
            <p className="muted small">Read as {TASK_WORDS[fixedTask] ?? fixedTask}, the model&apos;s task.</p>
          ) : (
            <label className="form-field">
              <span>Task</span>
              <select className="select" value={task} onChange={(e) => setTask(TASKS.find((t) => t.value === e.target.value)?.value ?? "")} data-testid="dataset-task">
                {TASKS.map((t) => (
                  <option key={t.value} value={t.value}>
                    {t.label}
                  </option>
                ))}
              </select>
            </label>
          )}
          {!unlabeled && task === "detection" && (
            <label className="form-field">
              <span>Images folder</span>
              <input type="text" value={images} onChange={(e) => setImages(e.target.value)} placeholder="default: the annotation file's folder" data-testid="dataset-images" />
            </label>
          )}
          {error && (
            <p className="error-text" role="alert" data-testid="dataset-error">
              {error}
            </p>
          )}
          <div className="modal-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy || !path.trim()} data-testid="dataset-submit">
              {busy ? "Reading…" : submitLabel}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
