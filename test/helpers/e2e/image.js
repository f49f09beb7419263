// The e2e suite's image, built from the busybox rootfs without a registry: a plain tar of the rootfs
// (what `docker import` and `podman import` take) and an OCI image-layout archive around it as a gzip
// layer (what `ctr images import` takes), with sha256 digests and the ref name in index.json.
import { execa } from 'execa';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
export const IMAGE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** dir/rootfs.tar: the rootfs as one uncompressed layer, numeric owners, no marker file. */
export async function rootfsTar(rootfs, dir) {
	const out = path.join(dir, 'rootfs.tar');
	await execa('tar', ['--numeric-owner', '--exclude=./.tsrun-rootfs-complete', '-C', rootfs, '-cf', out, '.']);
	return out;
}

/**
 * dir/oci-image.tar: an OCI image layout (oci-layout, index.json naming `ref`, a manifest, a config
 * and the gzip layer, each a blob under blobs/sha256/) around the rootfs tar.
 */
export async function ociArchive(layerTar, dir, ref) {
	const layout = path.join(dir, 'oci-layout-dir');
	const blobs = path.join(layout, 'blobs', 'sha256');
	fs.mkdirSync(blobs, { recursive: true });
	const blob = (buf) => {
		const digest = sha256(buf);
		fs.writeFileSync(path.join(blobs, digest), buf);
		return { digest: `sha256:${digest}`, size: buf.length };
	};
	const tar = fs.readFileSync(layerTar);
	const layer = blob(zlib.gzipSync(tar));
	const config = blob(
		Buffer.from(
			JSON.stringify({
				architecture: { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch,
				os: 'linux',
				config: { Env: IMAGE_ENV, Cmd: ['sh'], WorkingDir: '/' },
				rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
				history: [{ created_by: 'tsrun e2e: busybox rootfs (scripts/make-rootfs.sh)' }],
			}),
		),
	);
	const manifest = blob(
		Buffer.from(
			JSON.stringify({
				schemaVersion: 2,
				mediaType: 'application/vnd.oci.image.manifest.v1+json',
				config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
				layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
			}),
		),
	);
	fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
	fs.writeFileSync(
		path.join(layout, 'index.json'),
		JSON.stringify({
			schemaVersion: 2,
			mediaType: 'application/vnd.oci.image.index.v1+json',
			manifests: [
				{
					mediaType: 'application/vnd.oci.image.manifest.v1+json',
					...manifest,
					annotations: { 'org.opencontainers.image.ref.name': ref },
				},
			],
		}),
	);
	const out = path.join(dir, 'oci-image.tar');
	await execa('tar', ['--numeric-owner', '-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
	fs.rmSync(layout, { recursive: true, force: true });
	return out;
}
