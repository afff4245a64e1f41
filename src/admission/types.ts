// The slices of Kubernetes' admission and image-policy APIs that Signet reads and writes
// (admission.k8s.io v1/v1beta1 AdmissionReview, imagepolicy.k8s.io/v1alpha1 ImageReview).
// Hand-written: these types are not in the OpenAPI specs client libraries are generated from.

export type AdmissionApiVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** A request after shape checks: only what the pipeline uses, typed. */
export interface AdmissionRequest {
  readonly apiVersion: AdmissionApiVersion;
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  readonly subResource: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly operation: Operation;
  readonly dryRun: boolean;
  readonly object: Record<string, unknown> | undefined;
  readonly oldObject: Record<string, unknown> | undefined;
  readonly userName: string | undefined;
}

export interface AdmissionStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
  readonly metadata: Record<string, never>;
}

export interface AdmissionResponseBody {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: AdmissionStatus;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
}

export interface AdmissionReviewResponse {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponseBody;
}

export interface ImageReviewRequest {
  readonly containers: readonly string[];
  readonly namespace: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ImageReviewResponse {
  readonly apiVersion: 'imagepolicy.k8s.io/v1alpha1';
  readonly kind: 'ImageReview';
  readonly status: {
    readonly allowed: boolean;
    readonly reason?: string;
    readonly auditAnnotations?: Readonly<Record<string, string>>;
  };
}
