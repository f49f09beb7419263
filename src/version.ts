/** Version facts printed by --version and features (dockerd and containerd probe both). */
export const TSRUN_VERSION = '0.1.0';
export const SPEC_VERSION = '1.3.0';
export const SPEC_VERSION_MIN = '1.0.0';
