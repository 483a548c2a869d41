import { useState } from "react";

/**
 * An image only when there is a URL to show, and a plain fallback (the sample's id) when there is
 * none or it fails to load: never a broken-image icon.
 */
export function Media({ src, alt, fallback, testid, className }: { src?: string | null; alt: string; fallback: string; testid?: string; className?: string }) {
  const [failed, setFailed] = useState<string | null>(null);
  if (!src || failed === src)
    return (
      <span className="media-fallback" data-testid={testid ? `${testid}-fallback` : "media-fallback"} title={fallback}>
        {fallback}
      </span>
    );
  return <img src={src} alt={alt} loading="lazy" className={className} data-testid={testid} onError={() => setFailed(src)} />;
}
